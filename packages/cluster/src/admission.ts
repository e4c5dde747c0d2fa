import type {
  Endpoint,
  Instant,
  NatReport,
  NatType,
  RefusedReason,
  RequestedRole,
} from '@p2psp/wire';
import { checkChoice, checkInteger, checkNumber } from './errors.js';
import type { MemberRole, MembershipTable } from './membership.js';

/** A join request as the source sees it (wire `JoinRequest` plus the observed endpoint). */
export interface AdmissionRequest {
  /** The joiner's endpoint as the source sees it (after NAT). */
  readonly endpoint: Endpoint;
  readonly role: RequestedRole;
  readonly nat: NatReport;
  /** Monitor credential; empty when none. */
  readonly credential: Uint8Array;
}

/** What admission looks at: the current table and the clock. */
export interface AdmissionState {
  readonly members: MembershipTable;
  readonly now: Instant;
}

export interface AdmissionPolicy {
  /** Most members the source feeds (monitors + members). Beyond, joiners become external. */
  readonly maxMembers: number;
  /** Most external peers; beyond, joiners are refused `cluster-full`. 0 disables externals. */
  readonly maxExternal: number;
  /**
   * Most a fed member uploads, as a multiple of the stream: each external costs every fed
   * member one more copy of its relays, so externals are bounded by `externalCapacity`.
   */
  readonly maxMemberUpload: number;
  /** The credential `p2psp peer --monitor` must present; null when the source has none. */
  readonly monitorCredential: Uint8Array | null;
  /** While the cluster has no monitor, the next ordinary joiner becomes one. */
  readonly firstJoinerIsMonitor: boolean;
  /**
   * NAT types whose members become external (seed 000: every member sees such a peer at a
   * different endpoint, so complaints about it cannot be matched). Port-preserving symmetric
   * NATs are left out by default: they show every destination the same port while it is free.
   */
  readonly externalNatTypes: readonly NatType[];
  /** What to do with a joiner from an address expelled recently (seed 000). */
  readonly unreliable: 'external' | 'refuse' | 'member';
  /** How long an expulsion marks its address unreliable, in ms. */
  readonly unreliableMemoryMillis: number;
  readonly allowLiberated: boolean;
}

export const DEFAULT_ADMISSION_POLICY: AdmissionPolicy = {
  maxMembers: 256,
  maxExternal: 64,
  // Twice the stream: a fed member then feeds at most as many externals as there are fed
  // members (plus one), and uploads no more than a viewer of the stream plus one copy of
  // it, which home uplinks carry for audio and SD video streams.
  maxMemberUpload: 2,
  monitorCredential: null,
  firstJoinerIsMonitor: true,
  externalNatTypes: ['symmetric-sequential', 'symmetric-random'],
  unreliable: 'external',
  unreliableMemoryMillis: 10 * 60 * 1000,
  allowLiberated: true,
};

/** Why a joiner got the role it got. */
export type AdmissionReason =
  | 'requested'
  | 'monitor-credential'
  | 'first-joiner'
  | 'cluster-full'
  | 'unreliable-before'
  | 'symmetric-nat';

export type AdmissionDecision =
  | { readonly kind: 'admit'; readonly role: MemberRole; readonly reason: AdmissionReason }
  | { readonly kind: 'refuse'; readonly reason: RefusedReason; readonly message: string };

/**
 * Decides what a joiner becomes: monitor, member, external (seed 000: cluster full,
 * unreliable before, symmetric NAT) or refused. A plain function of the table, the request
 * and the policy, so the external-peer work can swap policies without touching the core.
 * In order:
 * 1. `monitor` with the right credential: monitor, even when full (the operator's own node).
 * 2. `monitor` otherwise: a monitor (`first-joiner`) if the source has no credential and no
 *    monitor yet and `firstJoinerIsMonitor`; else refused `bad-credential`.
 * 3. `liberated`: liberated, or refused `not-accepting` when the policy allows none.
 * 4. An address expelled within `unreliableMemoryMillis`: per `unreliable`.
 * 5. A NAT type in `externalNatTypes`: external.
 * 6. No monitor yet and `firstJoinerIsMonitor`: monitor.
 * 7. `maxMembers` reached: external.
 * 8. Otherwise: member.
 * "External" becomes a refusal `cluster-full` when `externalCapacity` externals are already in.
 */
export function admit(
  state: AdmissionState,
  request: AdmissionRequest,
  policy: Partial<AdmissionPolicy> = {},
): AdmissionDecision {
  const rules = checkPolicy({ ...DEFAULT_ADMISSION_POLICY, ...policy });
  const { members, now } = state;
  const external = (reason: AdmissionReason): AdmissionDecision => {
    const capacity = externalCapacity(members, rules);
    return members.count('external') < capacity
      ? { kind: 'admit', role: 'external', reason }
      : {
          kind: 'refuse',
          reason: 'cluster-full',
          message: `the cluster is full: its ${fedCount(members)} fed members feed ${members.count('external')} external peers, the most at ${rules.maxMemberUpload}x the stream per member (maxExternal ${rules.maxExternal}); try another source`,
        };
  };

  if (request.role === 'monitor') {
    if (
      rules.monitorCredential !== null &&
      rules.monitorCredential.length > 0 &&
      sameBytes(request.credential, rules.monitorCredential)
    ) {
      return { kind: 'admit', role: 'monitor', reason: 'monitor-credential' };
    }
    if (
      (rules.monitorCredential === null || rules.monitorCredential.length === 0) &&
      rules.firstJoinerIsMonitor &&
      members.count('monitor') === 0
    ) {
      // No credential to check, but the first joiner would be a monitor anyway.
      return { kind: 'admit', role: 'monitor', reason: 'first-joiner' };
    }
    return {
      kind: 'refuse',
      reason: 'bad-credential',
      message:
        rules.monitorCredential === null
          ? 'this source accepts no monitors by credential; start it with a monitor credential'
          : 'wrong monitor credential; pass the one the source was started with',
    };
  }
  if (request.role === 'liberated') {
    return rules.allowLiberated
      ? { kind: 'admit', role: 'liberated', reason: 'requested' }
      : {
          kind: 'refuse',
          reason: 'not-accepting',
          message: 'this source accepts no liberated peers; join as a peer',
        };
  }
  const expelledAt = members.unreliableSince(request.endpoint.address);
  if (
    expelledAt !== undefined &&
    now - expelledAt < rules.unreliableMemoryMillis &&
    rules.unreliable !== 'member'
  ) {
    if (rules.unreliable === 'refuse') {
      return {
        kind: 'refuse',
        reason: 'banned',
        message: `${request.endpoint.address} was expelled recently; try again later`,
      };
    }
    return external('unreliable-before');
  }
  if (rules.externalNatTypes.includes(request.nat.type)) return external('symmetric-nat');
  if (rules.firstJoinerIsMonitor && members.count('monitor') === 0) {
    return { kind: 'admit', role: 'monitor', reason: 'first-joiner' };
  }
  if (fedCount(members) >= rules.maxMembers) {
    return external('cluster-full');
  }
  return { kind: 'admit', role: 'member', reason: 'requested' };
}

/**
 * How many externals the fed members can feed. A fed member relays its 1/N share of the
 * stream to the N - 1 other fed members and to every external (rule 2, seed 000), so it
 * uploads (N - 1 + E) / N of the stream: `maxMemberUpload` = f bounds E at (f - 1) N + 1,
 * and `maxExternal` caps it. With no fed member yet no member uploads anything (the source
 * feeds the first externals itself): `maxExternal` alone.
 */
export function externalCapacity(
  members: MembershipTable,
  policy: Partial<AdmissionPolicy> = {},
): number {
  const rules = { ...DEFAULT_ADMISSION_POLICY, ...policy };
  const fed = fedCount(members);
  if (fed === 0) return rules.maxExternal;
  const byUpload = Math.floor((rules.maxMemberUpload - 1) * fed) + 1;
  return Math.min(rules.maxExternal, byUpload);
}

function fedCount(members: MembershipTable): number {
  return members.count('monitor') + members.count('member');
}

function checkPolicy(policy: AdmissionPolicy): AdmissionPolicy {
  checkInteger('maxMembers', policy.maxMembers, 0);
  checkInteger('maxExternal', policy.maxExternal, 0);
  checkNumber('maxMemberUpload', policy.maxMemberUpload, 1, 1_000_000);
  checkInteger('unreliableMemoryMillis', policy.unreliableMemoryMillis, 0);
  checkChoice('unreliable', policy.unreliable, ['external', 'refuse', 'member']);
  return policy;
}

/** Compares in time independent of where the bytes differ (a credential check). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let index = 0; index < b.length; index++) difference |= (a[index] ?? 0) ^ (b[index] ?? 0);
  return difference === 0;
}
