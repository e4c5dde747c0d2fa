import {
  chunkNumberDistance,
  type DatagramMessage,
  type Instant,
  type JoinAccept,
  type MemberId,
} from '@p2psp/wire';
import type { Neighbour, Neighbours } from './neighbours.js';
import type { PeerContext } from './peer-context.js';
import type { PeerRole } from './peer-types.js';
import type { Relay } from './relay.js';
import type { StreamTiming } from './stream-timing.js';

/**
 * Keepalives from an external to each member, this often. Linux forgets an unreplied UDP
 * mapping after 30 s (nf_conntrack_udp_timeout) and home routers after 30 s to 5 min
 * (RFC 4787 REQ-5 asks for at least 2 min, many do less): 10 s keeps the mapping open with
 * two lost keepalives to spare.
 */
export const EXTERNAL_KEEPALIVE_MILLIS = 10_000;

/**
 * How often an external looks for members it cannot hear. A fed member relays about one
 * chunk per round of the source (rule 1: one chunk per fed member), so silence is measured
 * in rounds, not in a fixed time; once a second is fine-grained enough for that.
 */
export const EXTERNAL_CHECK_MILLIS = 1000;

/**
 * A fed member silent for this many rounds of the source cannot reach us (its relays to us
 * are lost, or it never learnt us): at 1% loss, four relays in a row lost is 1e-8.
 */
export const SILENT_ROUNDS = 4;

/**
 * Chunks between the first and the newest relayed to us before their spacing is our chunk
 * interval. An external gets one chunk from the source, so the source's chunks never correct
 * the interval its accept announced (which a joiner during the first second gets wrong).
 */
const INTERVAL_SAMPLE_CHUNKS = 32;

/**
 * Loss over a silence window above this, every member heard, still means a member we do not
 * know feeds the others and not us (its introduction lost): we ask for the peer list. Above
 * what a lossy last hop explains (1% path loss gives about 1% before repair), below the
 * share of one member in a cluster of up to 20.
 */
const LOSS_THRESHOLD = 0.05;

/** Chunks due in a window before its loss means anything. */
const LOSS_MIN_CHUNKS = 64;

/** Never called silent sooner than this (tiny clusters have rounds of a few chunks). */
const MIN_SILENCE_MILLIS = 2000;

/**
 * A member still silent after a re-onboarding is retried after twice the wait, up to this
 * many doublings (16 windows): a pair no NAT traversal opens (a random-port symmetric NAT
 * facing a port-restricted one) must not cost the source a peer list every window forever.
 */
const MAX_BACKOFF_DOUBLINGS = 4;

interface Watch {
  /** Heard from last (or first seen, or last re-onboarded). */
  since: Instant;
  /** Re-onboardings since it was last heard from. */
  attempts: number;
}

/**
 * Seed 000 on the side of an external (or liberated) peer; a liberated one asked for it in
 * its join, an external was put there by the source. The source sends us a few chunks
 * flagged non-exclusive and nothing more: we relay the first at once to every member we
 * know, which opens our NAT towards each (a symmetric NAT opens one port per member); the
 * members then send us the stream.
 * Our mappings stay open with keepalives (timer `external-keepalive`): a hello-ack with
 * nonce 0, the same sign of life the source sends its members, which a member takes from a
 * neighbour silently and drops (counted) from anybody else, so a forged one makes nobody
 * send anything. One small datagram per verified member per round: at most
 * `maxNeighbours` per 10 s.
 *
 * Re-onboarding (timer `external-check`): a fed member we hear nothing from for
 * `SILENT_ROUNDS` rounds of the source (one that joined after us and never reached us, one
 * whose relays stopped, or one that dropped us after our mapping expired) is missing; so is
 * one we do not know when our loss over such a window passes `LOSS_THRESHOLD`. We then ask the source for the peer list (`peer-list-request`: at most once per check; the
 * source answers one per 2 s per member) and send our onboarding chunk again to each
 * missing member, which opens our NAT towards it and lets it learn us anew. A member
 * still silent is retried after twice the wait each time (at most 16 windows), so a member
 * that cannot reach us costs a handful of datagrams, not a stream.
 */
export class ExternalOnboarding {
  readonly #context: PeerContext;
  readonly #neighbours: Neighbours;
  readonly #relay: Relay;
  readonly #timing: StreamTiming;
  #role: PeerRole = 'peer';
  /** Our onboarding chunk as the source sent it, sent again to members that miss us. */
  #onboardingChunk: Uint8Array | null = null;
  /** Each fed member: when last heard from, and re-onboardings since. */
  readonly #watches = new Map<MemberId, Watch>();
  /** The first chunk relayed to us (number, arrival), and the newest one's. */
  #firstChunk: { readonly number: number; readonly at: Instant } | null = null;
  #newestChunk: { number: number; at: Instant } | null = null;
  /** The play-out counters at the start of the loss window, and re-onboardings for loss. */
  #lossWindow = { since: 0, played: 0, lost: 0, attempts: 0 };

  constructor(context: PeerContext, neighbours: Neighbours, relay: Relay, timing: StreamTiming) {
    this.#context = context;
    this.#neighbours = neighbours;
    this.#relay = relay;
    this.#timing = timing;
    context.timers.register('external-keepalive', (now) => this.#keepalive(now));
    context.timers.register('external-check', (now) => this.#check(now));
  }

  get role(): PeerRole {
    return this.#role;
  }

  /** External or liberated: the members feed us, the source does not, we relay nothing. */
  get fedByMembers(): boolean {
    return this.#role === 'external' || this.#role === 'liberated';
  }

  /** Rule 4: our own entry in the accept says whether we are external or liberated. */
  start(accept: JoinAccept, monitor: boolean, now: Instant): void {
    const self = accept.members.find((member) => member.memberId === accept.memberId);
    this.#role = monitor ? 'monitor' : 'peer';
    if (self?.flags.liberated === true) this.#becomeFedByMembers('liberated', now);
    else if (self?.flags.external === true) this.#becomeFedByMembers('external', now);
  }

  /**
   * Our onboarding chunk (the datagram as the source sent it): once to every member, now.
   * It also makes us external when the accept said member: the source classified our NAT
   * as symmetric from our hello, after the accept. A liberated peer is onboarded the same
   * way and stays liberated.
   */
  onboard(datagram: Uint8Array, now: Instant): void {
    if (!this.fedByMembers) this.#becomeFedByMembers('external', now);
    // The source sends a few copies (one lost would leave us a member nobody feeds): the
    // first opened our NAT, re-onboarding resends it to whoever missed it.
    if (this.#onboardingChunk !== null) return;
    this.#context.stats.onboardingChunks++;
    this.#onboardingChunk = datagram;
    this.#relay.relayToAllNow(datagram);
  }

  #becomeFedByMembers(role: 'external' | 'liberated', now: Instant): void {
    this.#role = role;
    this.#context.timers.set('external-keepalive', now + EXTERNAL_KEEPALIVE_MILLIS);
    this.#context.timers.set('external-check', now + EXTERNAL_CHECK_MILLIS);
    const { chunksPlayed, chunksLost } = this.#context.stats;
    this.#lossWindow = { since: now, played: chunksPlayed, lost: chunksLost, attempts: 0 };
  }

  /** Anything from a neighbour: as an external, that member reaches us. */
  heard(neighbour: Neighbour, message: DatagramMessage, now: Instant): void {
    if (!this.fedByMembers) return;
    if (message.type === 'chunk') this.#chunkArrived(message.chunkNumber, now);
    const watch = this.#watches.get(neighbour.memberId);
    if (watch === undefined) this.#watches.set(neighbour.memberId, { since: now, attempts: 0 });
    else {
      watch.since = now;
      watch.attempts = 0;
    }
  }

  #chunkArrived(chunkNumber: number, at: Instant): void {
    if (this.#firstChunk === null) this.#firstChunk = { number: chunkNumber, at };
    const newest = this.#newestChunk;
    if (newest === null) this.#newestChunk = { number: chunkNumber, at };
    else if (chunkNumberDistance(chunkNumber, newest.number) > 0) {
      newest.number = chunkNumber;
      newest.at = at;
    }
  }

  /** The chunk interval as the relays to us show it, else as the accept announced it. */
  #chunkIntervalMillis(): number {
    const first = this.#firstChunk;
    const newest = this.#newestChunk;
    if (first !== null && newest !== null) {
      const chunks = chunkNumberDistance(newest.number, first.number);
      if (chunks >= INTERVAL_SAMPLE_CHUNKS) return (newest.at - first.at) / chunks;
    }
    return this.#timing.chunkIntervalMillis;
  }

  /** Whether our loss over the window that just closed passed the threshold (backing off). */
  #lossy(now: Instant, silence: number): boolean {
    const window = this.#lossWindow;
    if (now - window.since < silence * 2 ** window.attempts) return false;
    const { chunksPlayed, chunksLost } = this.#context.stats;
    const lost = chunksLost - window.lost;
    const due = chunksPlayed - window.played + lost;
    const lossy = due >= LOSS_MIN_CHUNKS && lost / due > LOSS_THRESHOLD;
    this.#lossWindow = {
      since: now,
      played: chunksPlayed,
      lost: chunksLost,
      attempts: lossy ? Math.min(MAX_BACKOFF_DOUBLINGS, window.attempts + 1) : 0,
    };
    return lossy;
  }

  #check(now: Instant): void {
    const context = this.#context;
    if (context.state !== 'streaming') return;
    context.timers.set('external-check', now + EXTERNAL_CHECK_MILLIS);
    const fed = this.#neighbours
      .all()
      .filter((member) => !this.#neighbours.isExternal(member.memberId));
    const silence = Math.max(
      MIN_SILENCE_MILLIS,
      SILENT_ROUNDS * (fed.length + 1) * this.#chunkIntervalMillis(),
    );
    const missing: { member: Neighbour; watch: Watch }[] = [];
    const current = new Set<MemberId>();
    for (const member of fed) {
      current.add(member.memberId);
      const watch = this.#watches.get(member.memberId);
      if (watch === undefined) this.#watches.set(member.memberId, { since: now, attempts: 0 });
      else if (now - watch.since >= silence * 2 ** watch.attempts) missing.push({ member, watch });
    }
    for (const memberId of this.#watches.keys()) {
      if (!current.has(memberId)) this.#watches.delete(memberId);
    }
    const lossy = this.#lossy(now, silence);
    if (missing.length === 0 && !lossy) return;
    context.stats.reonboardings++;
    context.sendMessage(context.source, { type: 'peer-list-request', memberId: context.memberId });
    context.emit({
      name: 'external-reonboard',
      level: 'info',
      fields: { missing: missing.map(({ member }) => member.memberId).join(','), lossy },
    });
    const chunk = this.#onboardingChunk;
    for (const { member, watch } of missing) {
      watch.since = now;
      watch.attempts = Math.min(MAX_BACKOFF_DOUBLINGS, watch.attempts + 1);
      if (chunk === null) continue;
      context.stats.onboardingChunksResent++;
      context.sendBytes(member.endpoint, chunk);
    }
  }

  #keepalive(now: Instant): void {
    const context = this.#context;
    if (context.state !== 'streaming') return;
    context.timers.set('external-keepalive', now + EXTERNAL_KEEPALIVE_MILLIS);
    for (const member of this.#neighbours.all()) {
      if (!member.verified) continue;
      context.stats.keepalivesSent++;
      context.sendMessage(member.endpoint, {
        type: 'hello-ack',
        memberId: context.memberId,
        nonce: 0,
      });
    }
  }
}
