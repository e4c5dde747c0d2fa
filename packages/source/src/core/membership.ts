import {
  externalCapacity,
  isFedBySource,
  type Member,
  type MemberRemoval,
  type SourceCluster,
  toMemberInfo,
} from '@p2psp/cluster';
import {
  type Endpoint,
  formatEndpoint,
  type Goodbye,
  type GoodbyeReason,
  type Instant,
  type MemberId,
  NO_MEMBER,
  peerListReplies,
  type StatsReport,
} from '@p2psp/wire';
import type { Credentials } from './credentials.js';
import { type Introductions, portsRemapped, reachable, SYMMETRIC_NATS } from './introductions.js';
import type { SourceContext } from './source-context.js';

/**
 * Who is in the cluster, as the members know it: the members whose hello arrived (rule 4's
 * last step, listed to joiners and fed when their role says so), the datagrams only a
 * member may send, and every departure (rule 6), announced to the others when the source
 * removed the member itself.
 */
export class Membership {
  readonly #context: SourceContext;
  readonly #cluster: SourceCluster;
  readonly #introductions: Introductions;
  readonly #credentials: Credentials;
  /** Members whose hello arrived. */
  readonly #active = new Set<MemberId>();

  constructor(
    context: SourceContext,
    cluster: SourceCluster,
    introductions: Introductions,
    credentials: Credentials,
  ) {
    this.#context = context;
    this.#cluster = cluster;
    this.#introductions = introductions;
    this.#credentials = credentials;
  }

  isActive(memberId: MemberId): boolean {
    return this.#active.has(memberId);
  }

  /** The members that completed their join, in join order. */
  activeMembers(): Member[] {
    return this.#cluster.members.members().filter((member) => this.#active.has(member.memberId));
  }

  get size(): number {
    return this.#active.size;
  }

  /**
   * A joiner's hello arrived (checked by the joins): records its UDP endpoint and feeds it
   * from the end of the round (rule 4: "then the source appends it"); a member still listed
   * at that endpoint restarted without a goodbye and is removed as stale. `listed` are the
   * members its join accept listed. Returns the member, or undefined when it left meanwhile.
   */
  activate(
    memberId: MemberId,
    from: Endpoint,
    nonce: number,
    listed: ReadonlySet<MemberId>,
    now: Instant,
  ): Member | undefined {
    const pending = this.#cluster.members.get(memberId);
    if (pending !== undefined && portsRemapped(pending, from)) this.#classifySymmetric(pending);
    const activated = this.#cluster.activate(
      memberId,
      { address: from.address, port: from.port },
      now,
    );
    if (activated === undefined) return undefined;
    if (activated.replaced !== null) this.announceRemoval(activated.replaced);
    const others = this.activeMembers().filter((other) => other.memberId !== memberId);
    const joined = this.#apartFromAny(activated.member, others);
    this.#active.add(memberId);
    this.#acknowledge(joined, from, nonce);
    this.#introductions.introduce(joined, from, listed, others);
    this.#context.emit({
      name: 'peer-join',
      level: 'info',
      fields: {
        memberId,
        endpoint: formatEndpoint(from),
        role: joined.role,
        members: this.#active.size,
      },
    });
    return joined;
  }

  /** A member behind a NAT that remaps ports (`portsRemapped`) is taken as random-port symmetric. */
  #classifySymmetric(member: Member): void {
    this.#cluster.members.setNat(member.memberId, {
      type: 'symmetric-random',
      portStep: 0,
      mappedEndpoint: null,
    });
    this.#context.stats.symmetricNatsInferred++;
  }

  /**
   * A new member apart from a fed member (`reachable`: no hole punching surely opens the
   * pair) becomes an external peer before it is fed (seed 000): each would miss the other's
   * relays, and the new one would be dropped for debt and complained about for what its NAT
   * drops. As an external it is fed by the members it reaches, or by the source. One behind
   * a symmetric NAT also when it is apart from an external (its relays would miss it): one
   * symmetric external must not turn every later cone joiner external. Otherwise it stays a
   * member, so a free rider behind a symmetric NAT is still caught by complaints keyed by IP.
   */
  #apartFromAny(member: Member, others: readonly Member[]): Member {
    if (member.role !== 'member') return member;
    const symmetric = SYMMETRIC_NATS.has(member.nat.type);
    const apart = others.some(
      (other) => (symmetric || isFedBySource(other.role)) && !reachable(member, other),
    );
    return apart ? (this.makeExternal(member) ?? member) : member;
  }

  /**
   * An active member becomes external (seed 000): the source stops feeding it. Undefined
   * when the externals are at capacity (`externalCapacity`).
   */
  makeExternal(member: Member): Member | undefined {
    const members = this.#cluster.members;
    if (members.count('external') >= externalCapacity(members, this.#cluster.admission)) {
      return undefined;
    }
    members.setRole(member.memberId, 'external');
    this.#cluster.scheduler.remove(member.memberId);
    return members.get(member.memberId);
  }

  /**
   * A hello from a member: a retry (the ack was lost), a keepalive, or a renewal of its
   * credential. Answered again, with a fresh credential.
   */
  hello(member: Member, from: Endpoint, memberId: MemberId, nonce: number, now: Instant): void {
    if (member.memberId !== memberId) {
      this.#context.drop('member-mismatch', from, 'hello');
      return;
    }
    this.#cluster.heard(from, now);
    this.#acknowledge(member, from, nonce);
  }

  /** The ack of a member's hello carries its credential, fresh (`Credentials`). */
  #acknowledge(member: Member, from: Endpoint, nonce: number): void {
    const credential = this.#credentials.issue(member);
    this.#context.sendMessage(from, {
      type: 'hello-ack',
      memberId: member.memberId,
      nonce,
      ...(credential === undefined ? {} : { credential }),
    });
  }

  /** Rule 6: a member's goodbye, from its own endpoint with its own id, removes it. */
  goodbye(member: Member, goodbye: Goodbye, from: Endpoint, now: Instant): void {
    if (goodbye.memberId !== member.memberId) {
      this.#context.drop('member-mismatch', from, 'goodbye');
      return;
    }
    const removal = this.#cluster.leave(member.memberId, goodbye.reason, now);
    if (removal !== undefined) this.#noteRemoval(removal);
  }

  /**
   * A member's periodic report from an endpoint where no member is (removed while it could
   * not hear, or a member of this source's previous run): one goodbye with the id it claims,
   * to that endpoint only, tells it it is no member (rule 6) so it joins again at once. Never
   * larger than the report, and never sent to a member's endpoint: a forged report cannot
   * remove anybody.
   */
  strangerReport(from: Endpoint, memberId: MemberId): void {
    // A joiner whose hello is not acknowledged yet already reports from its UDP endpoint,
    // while the table lists it at a placeholder (joins.ts): it is no stranger.
    if (this.#cluster.members.get(memberId) !== undefined && !this.#active.has(memberId)) return;
    this.#context.stats.strangersTold++;
    this.#context.sendMessage(from, { type: 'goodbye', memberId, reason: 'timeout' });
  }

  /** The members, in peer-list pages (a member asked: it missed some). */
  sendList(to: Endpoint): void {
    for (const page of peerListReplies(this.activeMembers().map(toMemberInfo))) {
      this.#context.sendMessage(to, page);
    }
  }

  /** A member's periodic report, passed on as an event. */
  statsReport(member: Member, report: StatsReport): void {
    this.#context.emit({
      name: 'stats-receive',
      level: 'debug',
      fields: {
        memberId: member.memberId,
        chunksReceived: report.chunksReceived,
        chunksLost: report.chunksLost,
        chunksPlayed: report.chunksPlayed,
        neighbours: report.neighbours,
        players: report.players,
      },
    });
  }

  /**
   * A member was removed (expelled, silent, or replaced by a new join at its endpoint): every
   * member is told to drop it (rule 6). A member the source removed itself is told too, so
   * that it knows at once and can join again; a replaced one is that new joiner.
   */
  announceRemoval(removal: MemberRemoval): void {
    const wasActive = this.#active.has(removal.member.memberId);
    this.#noteRemoval(removal);
    const reason = removal.reason === 'debt' ? 'expelled' : removal.reason;
    if (reason !== 'leaving') {
      this.#context.sendGoodbye(removal.member.endpoint, removal.member.memberId, reason);
    }
    if (!wasActive) return;
    for (const member of this.activeMembers()) {
      this.#context.sendGoodbye(member.endpoint, removal.member.memberId, reason);
    }
  }

  /** Rule 6: the source leaves; every member is told why. */
  sayGoodbye(reason: GoodbyeReason): void {
    for (const member of this.activeMembers()) {
      this.#context.sendGoodbye(member.endpoint, NO_MEMBER, reason);
    }
  }

  /** A member left: counted and reported. */
  #noteRemoval(removal: MemberRemoval): void {
    this.#active.delete(removal.member.memberId);
    this.#context.stats.membersLeft++;
    this.#context.emit({
      name: removal.reason === 'expelled' ? 'peer-expel' : 'peer-leave',
      level: 'info',
      fields: {
        memberId: removal.member.memberId,
        endpoint: formatEndpoint(removal.member.endpoint),
        reason: removal.reason,
        complaints: removal.member.complaints,
        members: this.#active.size,
      },
    });
  }
}
