import { isFedBySource, type Member } from '@p2psp/cluster';
import type { Endpoint, Instant, MemberId } from '@p2psp/wire';
import { reachable, SYMMETRIC_NATS } from './introductions.js';
import type { Membership } from './membership.js';
import type { SourceContext } from './source-context.js';

const NON_EXCLUSIVE_CHUNK = { nonExclusive: true, recovered: false } as const;
const PLAIN_CHUNK = { nonExclusive: false, recovered: false } as const;

/**
 * Externals the source feeds itself, at most: each costs the source one more copy of the
 * stream (it uploads the stream once, rule 1), so this keeps it at 1 + 4 copies at worst.
 */
export const MAX_SOURCE_FED_EXTERNALS = 4;

/**
 * Copies of each `external-peer` notice: one datagram nobody acknowledges, and a member
 * that misses it treats the external as an ordinary neighbour and drops it for debt (rule
 * 7). Three copies make that p^3 (1e-6 at 1% loss), as for goodbyes.
 */
const NOTICE_COPIES = 3;

/**
 * Onboarding chunks per external: the next this many chunks cut. The first one that
 * arrives is what tells a member classified external after its accept (its hello showed a
 * symmetric NAT, or a later joiner demoted it) that it is external: one lost datagram left
 * it a member nobody fed. Three make that p^3, as for the notices; the external relays only
 * the first that arrives.
 */
const ONBOARDING_COPIES = 3;

/**
 * Peer-list replies per requester: at most one per this many milliseconds. An external
 * asks when it misses members (re-onboarding); more often buys nothing, and the pages of a
 * 256-member list weigh about 5 kB, so a requester cannot make the source a reflector.
 */
export const PEER_LIST_INTERVAL_MILLIS = 2000;

/**
 * External peers (seed 000): fed by the members, never by the source.
 *
 * - Onboarding: an external whose hello arrived is sent the next `ONBOARDING_COPIES` chunks
 *   cut flagged non-exclusive (with its own member id as origin), and nothing more. It
 *   relays the first that arrives once to every member, which opens its NAT towards each.
 * - The members are told, in an `external-peer` notice, the external's id and the endpoint
 *   the source sees it at: they match it by id and IP address (a symmetric NAT gives each
 *   destination another port), verify its port by a hello nonce, and from then on send it
 *   every chunk they relay, never charge it debt and never expect relays from it.
 * - An external no fed member can open a path to (@p2psp/nat's table: a random-port
 *   symmetric NAT facing port-restricted or symmetric ones), or joining before any fed
 *   member, would get nothing from anybody: the source sends it every chunk itself, as to a
 *   client, up to `MAX_SOURCE_FED_EXTERNALS` (it relays none of them).
 * - A fed member behind a symmetric NAT that a new external cannot reach (both symmetric,
 *   NATs that only the member's earlier peers could open) becomes external too, while the
 *   capacity allows: else every later external would miss its share. Its notice and its
 *   non-exclusive chunks make the members and itself treat it as external.
 * - A liberated peer (it asked for that role in its join) is onboarded as an external, and
 *   never fed by the source, even when no fed member reaches it: its whole point is to
 *   cost the source nothing while it serves another cluster.
 * - Peer lists: a member that missed some (an external re-onboarding) asks for the list;
 *   one reply per `PEER_LIST_INTERVAL_MILLIS` per requester, more are dropped and counted.
 *   Strangers never get here: the dispatcher drops their requests as `non-member`.
 */
export class Externals {
  readonly #context: SourceContext;
  readonly #membership: Membership;
  /** Externals activated and not yet sent all their onboarding chunks: how many are left. */
  readonly #waiting = new Map<MemberId, { endpoint: Endpoint; copies: number }>();
  /** When each requester was last sent the peer list. */
  readonly #listSentAt = new Map<MemberId, Instant>();
  /** Externals the source feeds itself (no fed member reaches them). */
  readonly #fedBySource = new Map<MemberId, Endpoint>();

  constructor(context: SourceContext, membership: Membership) {
    this.#context = context;
    this.#membership = membership;
  }

  /**
   * A member's hello arrived: an external waits for the next chunk; the members are told. A
   * liberated peer is onboarded the same way (its one chunk opens its NAT to the members),
   * and is never fed by the source: it asked to cost the source nothing.
   */
  activated(member: Member, from: Endpoint): void {
    if (member.role !== 'external' && member.role !== 'liberated') return;
    for (const fed of this.#membership.activeMembers()) {
      if (fed.role !== 'member' || !SYMMETRIC_NATS.has(fed.nat.type)) continue;
      if (reachable(member, fed)) continue;
      const demoted = this.#membership.makeExternal(fed);
      if (demoted === undefined) break;
      this.#context.stats.membersMadeExternal++;
      this.#onboard(demoted, demoted.endpoint);
    }
    this.#onboard(member, from);
    if (member.role === 'liberated') return;
    const reached = this.#membership
      .activeMembers()
      .some((fed) => isFedBySource(fed.role) && reachable(member, fed));
    if (reached || this.#fedBySource.size >= MAX_SOURCE_FED_EXTERNALS) return;
    this.#fedBySource.set(member.memberId, from);
    this.#context.stats.externalsFedBySource++;
  }

  /** Notices to the fed members, then the next chunks cut, non-exclusive. */
  #onboard(member: Member, from: Endpoint): void {
    this.#waiting.set(member.memberId, { endpoint: from, copies: ONBOARDING_COPIES });
    const notice = { type: 'external-peer', memberId: member.memberId, endpoint: from } as const;
    for (const other of this.#membership.activeMembers()) {
      if (!isFedBySource(other.role)) continue;
      this.#context.stats.externalNoticesSent++;
      for (let copy = 0; copy < NOTICE_COPIES; copy++) {
        this.#context.sendMessage(other.endpoint, notice);
      }
    }
  }

  /**
   * A chunk was cut: its copy goes to each waiting external, flagged non-exclusive, and to
   * each external the source feeds itself (plain once its onboarding copies are sent).
   */
  chunkCut(chunkNumber: number, payload: Uint8Array, trailer: Uint8Array): void {
    for (const [memberId, endpoint] of this.#fedBySource) {
      if (!this.#membership.isActive(memberId)) {
        this.#fedBySource.delete(memberId);
        continue;
      }
      if (this.#waiting.has(memberId)) continue;
      this.#context.sendMessage(endpoint, {
        type: 'chunk',
        chunkNumber,
        origin: memberId,
        flags: PLAIN_CHUNK,
        payload,
        signature: trailer,
      });
    }
    for (const [memberId, waiting] of this.#waiting) {
      const active = this.#membership.isActive(memberId);
      waiting.copies--;
      if (waiting.copies === 0 || !active) this.#waiting.delete(memberId);
      if (!active) continue;
      this.#context.sendMessage(waiting.endpoint, {
        type: 'chunk',
        chunkNumber,
        origin: memberId,
        flags: NON_EXCLUSIVE_CHUNK,
        payload,
        signature: trailer,
      });
      if (waiting.copies !== ONBOARDING_COPIES - 1) continue;
      this.#context.stats.externalsOnboarded++;
      this.#context.emit({
        name: 'external-onboard',
        level: 'info',
        fields: { memberId, chunkNumber },
      });
    }
  }

  /** A member asks for the peer list: answered at most once per interval. */
  listRequest(member: Member, from: Endpoint, now: Instant): void {
    const last = this.#listSentAt.get(member.memberId);
    if (last !== undefined && now - last < PEER_LIST_INTERVAL_MILLIS) {
      this.#context.stats.peerListRequestsLimited++;
      return;
    }
    // Requesters that left are forgotten with the stale entries.
    for (const [memberId, at] of this.#listSentAt) {
      if (now - at >= PEER_LIST_INTERVAL_MILLIS) this.#listSentAt.delete(memberId);
    }
    this.#listSentAt.set(member.memberId, now);
    const stats = this.#context.stats;
    stats.peerListsSent++;
    const before = stats.datagramBytesSent;
    this.#membership.sendList(from);
    stats.peerListBytesSent += stats.datagramBytesSent - before;
  }
}
