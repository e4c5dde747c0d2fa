import type { Instant, MemberId } from '@p2psp/wire';
import type { Neighbour, Neighbours } from './neighbours.js';
import { type PlayoutDelay, type ResolvedPeerConfig, relaySpreadChunksFor } from './peer-config.js';
import type { PeerContext } from './peer-context.js';
import type { StreamTiming } from './stream-timing.js';

/** Source chunks a newly verified neighbour is sent at once, if still in the window. */
const CATCH_UP_CHUNKS = 2;

/** One source chunk being relayed to every neighbour (rules 2 and 3). */
interface RelayJob {
  /** The datagram exactly as the source sent it: relayed byte for byte. */
  readonly bytes: Uint8Array;
  readonly targets: Neighbour[];
  readonly sentTo: Set<MemberId>;
  cursor: number;
  /** Milliseconds between two relays of this chunk. */
  readonly step: number;
  nextAt: Instant;
}

/**
 * Relaying (rules 2, 3 and 7, LRS).
 *
 * - Rule 2: every chunk from the source goes to every other member; chunks from peers are
 *   not relayed again. Only verified neighbours are sent relays (see `Neighbour.verified`).
 * - Rule 3: the relays of one source chunk are spread over the expected time to the next
 *   source chunk (capped by the relay spread, in chunk intervals; timer `relay`); when the
 *   next source chunk arrives first, the rest go out in a burst.
 * - A neighbour verified late gets the chunk being relayed and the last ones before it
 *   (catch-up): the chunks between its accept and our learning of it would be holes.
 * - LRS: a chunk the source resent through us because every monitor lost it goes to
 *   everybody at once.
 * - Rule 7: every relay, whichever of the above sent it, is charged +1 to its target's debt
 *   here, and a target past the threshold is dropped (`#send`).
 */
export class Relay {
  readonly #context: PeerContext;
  readonly #config: ResolvedPeerConfig;
  readonly #neighbours: Neighbours;
  readonly #timing: StreamTiming;
  #job: RelayJob | null = null;
  /** The last source chunks relayed (datagram and buffer index), for catch-up relays. */
  readonly #recent: { readonly bytes: Uint8Array; readonly index: number }[] = [];
  /** Chunk intervals over which the relays of one chunk are spread at most. */
  #spreadChunks = 0;
  /** Cap of the spread in time (time-based play-out delay only), else infinity. */
  #spreadCapMillis = Number.POSITIVE_INFINITY;

  constructor(
    context: PeerContext,
    config: ResolvedPeerConfig,
    neighbours: Neighbours,
    timing: StreamTiming,
  ) {
    this.#context = context;
    this.#config = config;
    this.#neighbours = neighbours;
    this.#timing = timing;
    context.timers.register('relay', (now) => this.#runDue(now));
  }

  /**
   * Rule 4: the play-out delay fixed at the accept sets the spread. Relays must reach
   * everyone well before they are played: over at most half the play-out delay. With the
   * time-based delay, also at most half of it in time: a member that joined while the
   * source still announced its initial interval estimate has more chunks of delay than
   * those that came later, and must not spread its relays past their play time.
   */
  start(delay: PlayoutDelay): void {
    const config = this.#config;
    this.#spreadChunks = relaySpreadChunksFor(config.relaySpreadChunks, delay.chunks);
    if (config.relaySpreadChunks === null && config.playoutDelayChunks === null) {
      this.#spreadCapMillis = config.playoutDelayMillis / 2;
    }
  }

  /** Play-out shortened its delay before playing: the spread follows it. */
  retune(delay: PlayoutDelay): void {
    this.#spreadChunks = relaySpreadChunksFor(this.#config.relaySpreadChunks, delay.chunks);
  }

  /** Rule 2: relays a source chunk just stored (buffer `index`), once, to every member. */
  relay(datagram: Uint8Array, index: number, now: Instant): void {
    this.#start(datagram, now);
    this.#recent.push({ bytes: datagram, index });
    if (this.#recent.length > CATCH_UP_CHUNKS + 1) this.#recent.shift();
  }

  /** LRS: sends a recovered chunk to every verified neighbour at once. */
  relayToAllNow(datagram: Uint8Array): void {
    for (const neighbour of this.#neighbours.all()) {
      if (neighbour.verified) this.#send(neighbour, datagram);
    }
  }

  /** Rule 3: sends every relay left of the current job at once (next chunk, or leaving). */
  burst(): void {
    const job = this.#job;
    if (job === null) return;
    this.#job = null;
    this.#context.timers.stop('relay');
    while (this.#relayOnce(job)) this.#context.stats.chunksBurst++;
  }

  /**
   * A neighbour that can be sent relays gets the source chunk being relayed, and the last
   * ones relayed before, while they can still be played (`oldestIndex`: the next chunk to
   * play): it just joined, and the chunks between its accept and our learning of it would
   * otherwise be holes.
   */
  join(neighbour: Neighbour, oldestIndex: number): void {
    const job = this.#job;
    if (job !== null && !job.sentTo.has(neighbour.memberId)) job.targets.push(neighbour);
    const current = job?.bytes;
    const done = this.#recent.filter((recent) => recent.bytes !== current);
    for (const recent of done.slice(-CATCH_UP_CHUNKS)) {
      // Dropped for debt by the previous one: nothing more for it.
      if (this.#neighbours.get(neighbour.memberId) !== neighbour) return;
      if (recent.index >= oldestIndex) this.#send(neighbour, recent.bytes);
    }
  }

  #start(datagram: Uint8Array, now: Instant): void {
    // Rule 3: the previous source chunk still has relays to go: send them in a burst now.
    this.burst();
    const targets = this.#neighbours.all();
    if (targets.length === 0) return;
    const interval = this.#timing.chunkIntervalMillis;
    const expectedGap = this.#timing.sourceGapMillis ?? (targets.length + 1) * interval;
    const spread = Math.min(expectedGap, this.#spreadChunks * interval, this.#spreadCapMillis);
    this.#job = {
      bytes: datagram,
      targets,
      sentTo: new Set(),
      cursor: 0,
      step: spread / targets.length,
      nextAt: now,
    };
    this.#runDue(now);
  }

  /** Sends the relays that are due (one every `step` ms). */
  #runDue(now: Instant): void {
    const job = this.#job;
    if (job === null) return;
    while (job.nextAt <= now) {
      if (!this.#relayOnce(job)) {
        this.#job = null;
        this.#context.timers.stop('relay');
        return;
      }
      job.nextAt += job.step;
    }
    this.#context.timers.set('relay', job.nextAt);
  }

  /** Sends the job's next relay; false when every neighbour has it. */
  #relayOnce(job: RelayJob): boolean {
    while (job.cursor < job.targets.length) {
      const target = job.targets[job.cursor++]!;
      // Skip neighbours dropped since the job started, and anyone that has it already.
      if (this.#neighbours.get(target.memberId) !== target) continue;
      // Not verified yet: it gets this chunk when it is (see `join`).
      if (!target.verified || job.sentTo.has(target.memberId)) continue;
      job.sentTo.add(target.memberId);
      this.#send(target, job.bytes);
      return true;
    }
    return false;
  }

  /** One relay: sent, counted, and charged to the target's debt (rule 7), checked here. */
  #send(neighbour: Neighbour, datagram: Uint8Array): void {
    this.#context.stats.chunksRelayed++;
    this.#context.sendBytes(neighbour.endpoint, datagram);
    if (this.#neighbours.charge(neighbour)) this.#neighbours.remove(neighbour, 'debt');
  }
}
