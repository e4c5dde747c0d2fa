import {
  type Endpoint,
  formatEndpoint,
  type GoodbyeReason,
  type Instant,
  type MemberFlags,
  type MemberId,
  type MemberInfo,
  type NatReport,
  NO_MEMBER,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import { ClusterError, checkInteger } from './errors.js';

/**
 * What a member is to its source.
 * - `monitor`: trusted, fed by the source, the only role whose complaints count (rule 8).
 * - `member`: an ordinary peer, fed by the source round robin, relays to everybody (rules 1-2).
 * - `external`: fed by the cluster's peers only, contributes nothing, never complained about
 *   nor charged debts (seed 000).
 * - `liberated`: not fed by the source, only by the peers; serves the stream to another
 *   source (seed 000).
 */
export type MemberRole = 'monitor' | 'member' | 'external' | 'liberated';

export const MEMBER_ROLES: readonly MemberRole[] = ['monitor', 'member', 'external', 'liberated'];

/**
 * Why a member left the table. The wire's goodbye reasons (`leaving`, `expelled`,
 * `stream-end`, `timeout`) plus `debt`, used by peers that drop a neighbour that relays
 * nothing (rule 7).
 */
export type RemovalReason = GoodbyeReason | 'debt';

/** The facts a source (or a peer, for its neighbours) keeps about one member. */
export interface Member {
  readonly memberId: MemberId;
  readonly role: MemberRole;
  /** The member's UDP endpoint as this node sees it (after any NAT). */
  readonly endpoint: Endpoint;
  /** The member's own view of its UDP endpoint (EMS), or null. */
  readonly privateEndpoint: Endpoint | null;
  /** `endpoint.address`: the key of the IP policies (complaints by IP, unreliable history). */
  readonly publicAddress: string;
  readonly nat: NatReport;
  readonly joinedAt: Instant;
  /** The last time anything was heard from the member (liveness, rule 6). */
  readonly lastHeardAt: Instant;
  /** Chunks the source sent to this member (rule 1). */
  readonly chunksSent: number;
  /** Complaints charged to this member over its whole life (rule 8). */
  readonly complaints: number;
}

/** A member that left, kept in a bounded history (for dashboards and admission). */
export interface MemberRemoval {
  readonly member: Member;
  readonly reason: RemovalReason;
  readonly removedAt: Instant;
}

export interface NewMember {
  readonly role: MemberRole;
  readonly endpoint: Endpoint;
  readonly privateEndpoint?: Endpoint | null;
  readonly nat?: NatReport;
  /** When the member joined; also its first last-heard time. */
  readonly now: Instant;
  /**
   * The id to use. The source omits it and the table allocates the next one (never reused,
   * wire `MemberId`); a peer mirroring the source's list passes the source's id.
   */
  readonly memberId?: MemberId;
}

export interface MembershipTableOptions {
  /** The first id the table allocates. Default 1 (0 is NO_MEMBER). */
  readonly firstMemberId?: number;
  /** How many removals `removals()` keeps. Default 1,024. */
  readonly removalHistory?: number;
  /** How many addresses the unreliable-address memory keeps. Default 4,096. */
  readonly unreliableAddressHistory?: number;
}

/** Removal reasons that mark the member's address as unreliable for admission (seed 000). */
const UNRELIABLE_REASONS: ReadonlySet<RemovalReason> = new Set(['expelled', 'debt']);

interface MutableMember {
  memberId: MemberId;
  role: MemberRole;
  endpoint: Endpoint;
  privateEndpoint: Endpoint | null;
  publicAddress: string;
  nat: NatReport;
  joinedAt: Instant;
  lastHeardAt: Instant;
  chunksSent: number;
  complaints: number;
}

/**
 * The member list of a source (or a peer's neighbour list): lookups by id, by endpoint and
 * by public IP, iteration in join order (the round-robin order of rule 1), and removal with
 * a reason. Pure state: every time is a parameter.
 */
export class MembershipTable implements Iterable<Member> {
  readonly #byId = new Map<MemberId, MutableMember>();
  readonly #byEndpoint = new Map<string, MutableMember>();
  readonly #byAddress = new Map<string, Set<MutableMember>>();
  readonly #removals: MemberRemoval[] = [];
  readonly #unreliableAddresses = new Map<string, Instant>();
  readonly #removalHistory: number;
  readonly #unreliableAddressHistory: number;
  #nextMemberId: number;

  constructor(options: MembershipTableOptions = {}) {
    this.#nextMemberId = checkInteger('firstMemberId', options.firstMemberId ?? 1, 1, 0xffff_ffff);
    this.#removalHistory = checkInteger('removalHistory', options.removalHistory ?? 1024, 0);
    this.#unreliableAddressHistory = checkInteger(
      'unreliableAddressHistory',
      options.unreliableAddressHistory ?? 4096,
      0,
    );
  }

  get size(): number {
    return this.#byId.size;
  }

  /**
   * Adds a member and returns it. Throws `P2PSP_ERR_MEMBER_EXISTS` when the id or the
   * endpoint is already in the table: check with `get`/`byEndpoint` first when the request
   * comes from the network.
   */
  add(entry: NewMember): Member {
    const memberId = entry.memberId ?? this.#allocateId();
    if (memberId === NO_MEMBER || this.#byId.has(memberId)) {
      throw new ClusterError(
        'P2PSP_ERR_MEMBER_EXISTS',
        `member id ${memberId} is ${memberId === NO_MEMBER ? 'NO_MEMBER' : 'already in the table'}; pass another id or none`,
      );
    }
    const key = formatEndpoint(entry.endpoint);
    if (this.#byEndpoint.has(key)) {
      throw new ClusterError(
        'P2PSP_ERR_MEMBER_EXISTS',
        `endpoint ${key} already belongs to member ${this.#byEndpoint.get(key)?.memberId}; remove it first`,
      );
    }
    if (entry.memberId !== undefined && entry.memberId >= this.#nextMemberId) {
      // Keep allocation above any id given from outside, so ids are never reused.
      this.#nextMemberId = entry.memberId + 1;
    }
    const member: MutableMember = {
      memberId,
      role: entry.role,
      endpoint: entry.endpoint,
      privateEndpoint: entry.privateEndpoint ?? null,
      publicAddress: entry.endpoint.address,
      nat: entry.nat ?? UNKNOWN_NAT_REPORT,
      joinedAt: entry.now,
      lastHeardAt: entry.now,
      chunksSent: 0,
      complaints: 0,
    };
    this.#byId.set(memberId, member);
    this.#index(member);
    return member;
  }

  get(memberId: MemberId): Member | undefined {
    return this.#byId.get(memberId);
  }

  has(memberId: MemberId): boolean {
    return this.#byId.has(memberId);
  }

  byEndpoint(endpoint: Endpoint): Member | undefined {
    return this.#byEndpoint.get(formatEndpoint(endpoint));
  }

  /** Every member whose public IP is `address` (several when they share a NAT). */
  byAddress(address: string): readonly Member[] {
    return [...(this.#byAddress.get(address) ?? [])];
  }

  /** Members in join order (the round-robin order of rule 1), optionally of some roles. */
  members(roles?: readonly MemberRole[]): readonly Member[] {
    const all = [...this.#byId.values()];
    return roles === undefined ? all : all.filter((member) => roles.includes(member.role));
  }

  /** Ids of the monitors, in join order. */
  monitorIds(): readonly MemberId[] {
    return this.members(['monitor']).map((member) => member.memberId);
  }

  count(role?: MemberRole): number {
    if (role === undefined) return this.#byId.size;
    let count = 0;
    for (const member of this.#byId.values()) if (member.role === role) count++;
    return count;
  }

  [Symbol.iterator](): Iterator<Member> {
    return this.#byId.values();
  }

  /** Records that something arrived from the member at `now` (liveness). */
  heard(memberId: MemberId, now: Instant): void {
    const member = this.#require(memberId);
    if (now > member.lastHeardAt) member.lastHeardAt = now;
  }

  recordChunkSent(memberId: MemberId): void {
    this.#require(memberId).chunksSent++;
  }

  recordComplaint(memberId: MemberId): void {
    this.#require(memberId).complaints++;
  }

  setRole(memberId: MemberId, role: MemberRole): void {
    this.#require(memberId).role = role;
  }

  /** The member's NAT as the cluster classified it (its own report said `unknown`). */
  setNat(memberId: MemberId, nat: NatReport): void {
    this.#require(memberId).nat = nat;
  }

  /** The member's UDP endpoint changed (e.g. learnt from its first hello). */
  setEndpoint(memberId: MemberId, endpoint: Endpoint): void {
    const member = this.#require(memberId);
    const key = formatEndpoint(endpoint);
    const owner = this.#byEndpoint.get(key);
    if (owner !== undefined && owner !== member) {
      throw new ClusterError(
        'P2PSP_ERR_MEMBER_EXISTS',
        `endpoint ${key} already belongs to member ${owner.memberId}; remove it first`,
      );
    }
    this.#unindex(member);
    member.endpoint = endpoint;
    member.publicAddress = endpoint.address;
    this.#index(member);
  }

  /**
   * Removes a member and returns the removal, or undefined when it was not there (a second
   * goodbye, say). `expelled` and `debt` removals mark the address unreliable (seed 000).
   */
  remove(memberId: MemberId, reason: RemovalReason, now: Instant): MemberRemoval | undefined {
    const member = this.#byId.get(memberId);
    if (member === undefined) return undefined;
    this.#byId.delete(memberId);
    this.#unindex(member);
    const removal: MemberRemoval = { member: { ...member }, reason, removedAt: now };
    if (this.#removalHistory > 0) {
      this.#removals.push(removal);
      if (this.#removals.length > this.#removalHistory) this.#removals.shift();
    }
    if (UNRELIABLE_REASONS.has(reason)) this.markUnreliable(member.publicAddress, now);
    return removal;
  }

  /** The last removals, oldest first. */
  removals(): readonly MemberRemoval[] {
    return [...this.#removals];
  }

  /** Remembers that a node at `address` misbehaved at `now` (expelled, or reported). */
  markUnreliable(address: string, now: Instant): void {
    if (this.#unreliableAddressHistory === 0) return;
    this.#unreliableAddresses.delete(address);
    this.#unreliableAddresses.set(address, now);
    if (this.#unreliableAddresses.size > this.#unreliableAddressHistory) {
      const oldest = this.#unreliableAddresses.keys().next();
      if (oldest.done !== true) this.#unreliableAddresses.delete(oldest.value);
    }
  }

  /** When a node at `address` last misbehaved, or undefined. */
  unreliableSince(address: string): Instant | undefined {
    return this.#unreliableAddresses.get(address);
  }

  /** A plain copy of every member, for events and dashboards. */
  snapshot(): readonly Member[] {
    return [...this.#byId.values()].map((member) => ({ ...member }));
  }

  #allocateId(): MemberId {
    while (this.#byId.has(this.#nextMemberId) || this.#nextMemberId === NO_MEMBER) {
      this.#nextMemberId = (this.#nextMemberId + 1) >>> 0;
    }
    const memberId = this.#nextMemberId;
    this.#nextMemberId = (this.#nextMemberId + 1) >>> 0;
    return memberId;
  }

  #require(memberId: MemberId): MutableMember {
    const member = this.#byId.get(memberId);
    if (member === undefined) {
      throw new ClusterError(
        'P2PSP_ERR_UNKNOWN_MEMBER',
        `member ${memberId} is not in the table; check with has() first`,
      );
    }
    return member;
  }

  #index(member: MutableMember): void {
    this.#byEndpoint.set(formatEndpoint(member.endpoint), member);
    let sharing = this.#byAddress.get(member.publicAddress);
    if (sharing === undefined) {
      sharing = new Set();
      this.#byAddress.set(member.publicAddress, sharing);
    }
    sharing.add(member);
  }

  #unindex(member: MutableMember): void {
    this.#byEndpoint.delete(formatEndpoint(member.endpoint));
    const sharing = this.#byAddress.get(member.publicAddress);
    sharing?.delete(member);
    if (sharing?.size === 0) this.#byAddress.delete(member.publicAddress);
  }
}

/** The wire flags of a role (join-accept and peer-list member lists). */
export function flagsOfRole(role: MemberRole): MemberFlags {
  return {
    monitor: role === 'monitor',
    external: role === 'external',
    liberated: role === 'liberated',
  };
}

/** The role the wire flags describe (monitor wins over the others). */
export function roleOfFlags(flags: MemberFlags): MemberRole {
  if (flags.monitor) return 'monitor';
  if (flags.external) return 'external';
  if (flags.liberated) return 'liberated';
  return 'member';
}

/** A member as the source announces it (wire `MemberInfo`). */
export function toMemberInfo(member: Member): MemberInfo {
  const info: MemberInfo = {
    memberId: member.memberId,
    endpoint: member.endpoint,
    privateEndpoint: member.privateEndpoint,
    flags: flagsOfRole(member.role),
  };
  if (member.nat.type === 'unknown') return info;
  // Issue 6: other members punch towards it with this (a step outside u16 is no step).
  const step = member.nat.portStep;
  const portStep = Number.isInteger(step) && step >= 0 && step <= 0xffff ? step : 0;
  return { ...info, nat: { type: member.nat.type, portStep, mappedEndpoint: null } };
}

/** Whether the source feeds this role round robin: monitors and members (rule 1, seed 000). */
export function isFedBySource(role: MemberRole): boolean {
  return role === 'monitor' || role === 'member';
}
