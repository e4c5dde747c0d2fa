import { isFedBySource, type Member, toMemberInfo } from '@p2psp/cluster';
import { answerStunDatagram, punchFeasibility } from '@p2psp/nat';
import { type Endpoint, type NatType, peerListReplies, unmapIpv4 } from '@p2psp/wire';
import type { Credentials } from './credentials.js';
import type { SourceContext } from './source-context.js';

/**
 * Copies of each introduction to a member behind a filtering NAT: a lost one leaves it
 * apart from the new member for good (its NAT drops the joiner's hellos, and nothing else
 * would tell it); the new member's own hellos are retried, this single datagram is not.
 * Peers ignore the repeats. A member that takes any hello gets one copy (none when the
 * source signs credentials): if it is lost, the joiner's relays, dropped as unlisted, make
 * it ask for the peer list. The members a joiner missed (joins that overlapped) go to it in
 * as many copies.
 */
const INTRODUCTION_COPIES = 3;

/**
 * NAT traversal at the source (P2PSP NTS): the cluster's STUN server on the cluster port,
 * the member pairs hole punching can open, and the introductions that make both sides of
 * a new pair hello each other at once.
 */
export class Introductions {
  readonly #context: SourceContext;
  readonly #credentials: Credentials;

  constructor(context: SourceContext, credentials: Credentials) {
    this.#context = context;
    this.#credentials = credentials;
  }

  /** A STUN Binding request: answered with the endpoint we see (XOR-MAPPED-ADDRESS). */
  answerStun(from: Endpoint, bytes: Uint8Array): void {
    const reply = answerStunDatagram(bytes, from, { software: 'p2psp source' });
    if (reply === null) {
      this.#context.drop('malformed', from, 'STUN datagram that is not a valid request');
      return;
    }
    this.#context.stats.stunRequestsAnswered++;
    this.#context.sendBytes(from, reply);
  }

  /**
   * The members of `others` that `member` can reach, directly or by hole punching; the
   * others are counted and reported (P2PSP measured random-port symmetric NATs against
   * port-restricted or symmetric ones never to work). TODO(external peers, seed 000): serve
   * such pairs through the external-peer path instead of leaving them apart.
   */
  reachable(member: Member, others: readonly Member[]): Member[] {
    const reachable: Member[] = [];
    for (const other of others) {
      if (!exchangesChunks(member, other)) continue;
      const feasibility = punchPossible(member, other);
      if (feasibility.possible) {
        reachable.push(other);
        continue;
      }
      const pairsSkipped = ++this.#context.stats.natPairsImpossible;
      this.#context.emit({
        name: 'punch-skip',
        level: pairsSkipped === 1 ? 'warn' : 'debug',
        fields: {
          memberId: member.memberId,
          nat: member.nat.type,
          otherMemberId: other.memberId,
          otherNat: other.nat.type,
          reason: feasibility.reason ?? null,
          pairsSkipped,
        },
      });
    }
    return reachable;
  }

  /**
   * A member was activated (its hello arrived at `from`). `others` are the other active
   * members, `listed` those its join accept listed.
   *
   * Members activated since its accept (joins that overlapped) are not in its list, and it
   * is not in theirs: they are sent to it now, else neither would ever hello the other. In
   * `INTRODUCTION_COPIES` copies: with credentials nobody else tells either side, and one
   * lost page left a joiner apart from every member on it (100 peers on 20-50 ms links, 1%
   * loss, 500 ms delay, seeds 1-5: worst peer 0.88-5.95% -> 0.43-1.29%, source upload
   * 1.05-1.06x -> 1.07-1.09x the stream).
   *
   * Which other members are told about it: peers take as neighbours only the members the
   * source vouches for, listed or in a credential. With credentials (the source has a
   * key), the joiner's own hellos carry the source's word, so only the members that would
   * never see those hellos are told: those behind a NAT or firewall that filters a sender
   * it never wrote to (`filtersStrangers`). For them this is the NTS rendezvous, listed or
   * not: the member hellos the joiner while the joiner's hellos to it are still retried, and
   * each side's hellos open its own NAT towards the other, so restricted and port-restricted
   * cones let the next round through. Without it a member behind a filtering NAT dropped
   * every later joiner's hellos and never learnt of it (docs/simulation.md, NAT finding); a
   * joiner whose hello was lost is activated after later joiners, which then filter it for
   * good unless they are told too (one member in 20 lost that joiner's share, 6.4%). An
   * open or full-cone member takes the credentialed hello itself: telling it too cost the
   * source a datagram per member per join (source upload 1.31x the stream over a run of
   * 100 joins, docs/nat.md). Without credentials every member is told.
   */
  introduce(
    joined: Member,
    from: Endpoint,
    listed: ReadonlySet<number>,
    others: readonly Member[],
  ): void {
    const missed = this.reachable(
      joined,
      others.filter((other) => !listed.has(other.memberId)),
    );
    if (missed.length > 0) {
      const pages = peerListReplies(missed.map(toMemberInfo));
      for (let copy = 0; copy < INTRODUCTION_COPIES; copy++) {
        for (const page of pages) this.#context.sendMessage(from, page);
      }
    }
    // Its private endpoint serves only members behind the same public address (EMS): the
    // others are told what lets them take its chunks, 7 bytes less per member and join.
    const info = toMemberInfo(joined);
    const sameAddress = peerListReplies([info]);
    const elsewhere = peerListReplies([{ ...info, privateEndpoint: null }]);
    const address = unmapIpv4(joined.endpoint.address);
    const credentials = this.#credentials.issued;
    for (const other of others) {
      if (!exchangesChunks(joined, other)) continue;
      if (!punchPossible(joined, other).possible) continue;
      const filters = filtersStrangers(other);
      if (credentials && !filters) continue;
      this.#context.stats.membersIntroduced++;
      const introduction = unmapIpv4(other.endpoint.address) === address ? sameAddress : elsewhere;
      const copies = filters ? INTRODUCTION_COPIES : 1;
      for (let copy = 0; copy < copies; copy++) {
        for (const page of introduction) this.#context.sendMessage(other.endpoint, page);
      }
    }
  }
}

/**
 * Whether a member's NAT (or firewall) may drop a hello from a member it never wrote to, so
 * a lost introduction would leave the pair apart for good. Open hosts and full cones take
 * any hello; so does a member whose endpoint the source sees as the one it reported for
 * itself (no NAT in between) when it did not run detection. One copy to those keeps a join
 * near one datagram per member (the source uploads the stream once).
 */
function filtersStrangers(member: Member): boolean {
  const type = member.nat.type;
  if (type === 'open' || type === 'full-cone') return false;
  if (type !== 'unknown' || member.privateEndpoint === null) return true;
  return !(
    member.privateEndpoint.port === member.endpoint.port &&
    unmapIpv4(member.privateEndpoint.address) === unmapIpv4(member.endpoint.address)
  );
}

/**
 * Whether two members have chunks for each other: at least one is fed by the source and so
 * relays (rule 2). Two external peers (seed 000) never do; introducing them would only
 * spend their NATs' ports (a symmetric NAT opens one per destination, NTS prediction
 * counts on those).
 */
function exchangesChunks(a: Member, b: Member): boolean {
  return isFedBySource(a.role) || isFedBySource(b.role);
}

/**
 * NAT classification from what the cluster sees, without a second source address (RFC 5780
 * needs one): a member that reported `unknown` and whose hello comes from another port
 * than its socket's (`privateEndpoint`), at another address, sits behind a NAT that does
 * not keep ports. Cones keep them (RFC 4787 REQ-1 asks for endpoint-independent mapping,
 * and port preservation is what Linux and most routers do first); symmetric NATs give
 * each destination a port of their own. Taken as random-port symmetric, the worst case.
 */
export function portsRemapped(member: Member, from: Endpoint): boolean {
  const own = member.privateEndpoint;
  return (
    member.nat.type === 'unknown' &&
    own !== null &&
    own.port !== from.port &&
    unmapIpv4(own.address) !== unmapIpv4(from.address)
  );
}

/**
 * Whether two members can surely open a UDP path between them, for deciding who feeds whom
 * (not whom to introduce: `punchPossible` tries `unknown`). A member that reported
 * `unknown` is taken as what the source sees: at the endpoint it reported for itself, no
 * NAT (`open`); behind a NAT, a port-restricted cone, the strictest cone and what a Linux
 * router's plain SNAT is (RFC 4787 REQ-8 only recommends endpoint-independent filtering).
 */
export function reachable(a: Member, b: Member): boolean {
  if (unmapIpv4(a.publicAddress) === unmapIpv4(b.publicAddress)) return true;
  return punchFeasibility(assumedNat(a), assumedNat(b)).possible;
}

/** NAT types that give each destination its own port (RFC 4787 section 4.1). */
export const SYMMETRIC_NATS: ReadonlySet<NatType> = new Set([
  'symmetric-random',
  'symmetric-sequential',
]);

function assumedNat(member: Member): NatType {
  const own = member.privateEndpoint;
  if (member.nat.type !== 'unknown' || own === null) return member.nat.type;
  const direct =
    own.port === member.endpoint.port &&
    unmapIpv4(own.address) === unmapIpv4(member.endpoint.address);
  return direct ? 'open' : 'port-restricted-cone';
}

/**
 * Whether two members can open a UDP path between them (@p2psp/nat's table). Behind the
 * same public address they talk over their private endpoints (EMS), whatever the NAT.
 */
export function punchPossible(a: Member, b: Member): { possible: boolean; reason?: string } {
  if (unmapIpv4(a.publicAddress) === unmapIpv4(b.publicAddress)) return { possible: true };
  return punchFeasibility(a.nat.type, b.nat.type);
}
