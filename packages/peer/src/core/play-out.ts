import {
  type Chunk,
  type ChunkRequest,
  chunkNumberAfter,
  type Endpoint,
  encodeDatagram,
  type Instant,
  type JoinAccept,
} from '@p2psp/wire';
import { ChunkBuffer } from './chunk-buffer.js';
import {
  ChunkRepair,
  NO_REPAIR_STATS,
  type RepairBuffer,
  type RepairStats,
} from './chunk-repair.js';
import type { Complaints } from './complaints.js';
import type { Neighbour, Neighbours } from './neighbours.js';
import {
  type PlayoutDelay,
  playoutDelayFor,
  type ResolvedPeerConfig,
  relaySpreadChunksFor,
} from './peer-config.js';
import type { PeerContext } from './peer-context.js';
import type { StreamTiming } from './stream-timing.js';

/** A buffer larger than this in a join accept is refused: the peer allocates B slots. */
export const MAX_BUFFER_SIZE = 1 << 20;

/** Chunks received before the pre-play measure of the chunk interval is trusted. */
const MEASURE_CHUNKS = 4;

export interface PlayOutHooks {
  /** The newest chunk index moved `chunkTimes` ahead: the stream clock of rule 6. */
  advanced(chunkTimes: number): void;
  /** The delay was shortened before playing (the accept's interval was an estimate). */
  delayShortened(delay: PlayoutDelay): void;
  /** Signed chunks: the source's digest covering a chunk, sent with repair answers. */
  digestFor(chunkNumber: number): Uint8Array | null;
}

/**
 * Rule 5, buffering and play-out, and the repair of what is missing (RMS-lite).
 *
 * B chunks indexed by chunk number mod B (`ChunkBuffer`). Play-out starts once the newest
 * chunk is `playoutDelay` ahead of the oldest, and chunk k is played as soon as a chunk
 * numbered k + delay or later has arrived: the play-out is clocked by the stream itself, so
 * a source slightly faster or slower than its announced rate never overflows or starves the
 * buffer. The newest chunk counts only as far as the source's schedule (`StreamTiming`:
 * our clock, the source's chunk rate, anchored on the source's chunks) allows: a forged
 * chunk numbered ahead cannot make us play early, and one too far ahead is dropped
 * (`ahead-of-schedule`). A chunk missing at its turn is played as null and counted lost;
 * the output never stalls. `ChunkRepair` reads this buffer (`RepairBuffer`) and asks neighbours for the
 * chunks that are overdue (timer `repair`); what it cannot get, a monitor complains about.
 */
export class PlayOut implements RepairBuffer {
  readonly #context: PeerContext;
  readonly #config: ResolvedPeerConfig;
  readonly #timing: StreamTiming;
  readonly #neighbours: Neighbours;
  readonly #complaints: Complaints;
  readonly #hooks: PlayOutHooks;
  #buffer = new ChunkBuffer(1);
  #chunkSize = 0;
  /** Our play-out delay in chunks (rule 5). */
  #delay = 0;
  /** The accept's next chunk number: older chunks may have been relayed before we were known. */
  #joinChunkNumber = 0;
  #playing = false;
  #playIndex = 0;
  #lowestIndex = 0;
  #highestIndex = 0;
  /**
   * First chunk that arrived after the join (time, index) and the newest since: they measure
   * the interval before play. Arrivals, not stores: signed chunks are stored in bursts.
   */
  #firstArrivalAt: Instant | null = null;
  #firstArrivalIndex = 0;
  #newestArrivalIndex = 0;
  /** Signed chunks: the longest run of chunks one digest covered (0: unsigned). */
  #signedRunChunks = 0;
  /** Signed chunks are checked: arrivals come in runs (see `verifying`). */
  #verified = false;
  /** Chunk intervals the neighbours spread their relays over (repair waits for them). */
  #neighbourSpreadChunks = 0;
  /** RMS-lite repair of lost chunks (chunk-repair.ts), or null when `repair` is off. */
  #repair: ChunkRepair | null = null;

  constructor(
    context: PeerContext,
    config: ResolvedPeerConfig,
    timing: StreamTiming,
    neighbours: Neighbours,
    complaints: Complaints,
    hooks: PlayOutHooks,
  ) {
    this.#context = context;
    this.#config = config;
    this.#timing = timing;
    this.#neighbours = neighbours;
    this.#complaints = complaints;
    this.#hooks = hooks;
    context.timers.register('repair', (now) => this.#runRepair(now));
  }

  // -------------------------------------------------------------------------------------
  // What repair and catch-up relays read (RepairBuffer)

  /** The unwrapped index of the next chunk to play (the lowest one before play-out). */
  get playIndex(): number {
    return this.#playing ? this.#playIndex : this.#lowestIndex;
  }

  /** The newest chunk index received. */
  get highestIndex(): number {
    return this.#highestIndex;
  }

  get chunkIntervalMillis(): number {
    return this.#timing.chunkIntervalMillis;
  }

  has(index: number): boolean {
    return this.#buffer.has(index);
  }

  numberOf(index: number): number {
    return this.#buffer.numberOf(index);
  }

  // -------------------------------------------------------------------------------------
  // Views

  /** Chunks buffered and not yet played. */
  get bufferFill(): number {
    return this.#buffer.filled;
  }

  /** The chunk number played next, or null before play-out starts. */
  get playChunkNumber(): number | null {
    return this.#playing ? this.#buffer.numberOf(this.#playIndex) : null;
  }

  repairStats(): RepairStats {
    return this.#repair?.stats() ?? NO_REPAIR_STATS;
  }

  // -------------------------------------------------------------------------------------
  // Rule 5

  /**
   * Rule 4: the accept sets the buffer and the play-out delay (after `Complaints` read
   * whether we are a monitor), time-based by default
   * (playoutDelayFor in peer-config.ts). Monitors play earlier so they notice losses while
   * the others still have time for a recovery (LRS: "monitors run a buffer of B/2"). With
   * repair, a monitor complains as soon as its repair fails (chunk-repair.ts), not at play
   * time, so it plays at 3/4 of the peers' delay: time for its own repairs and for the
   * resend to reach it.
   */
  start(accept: JoinAccept, now: Instant): PlayoutDelay {
    const config = this.#config;
    this.#chunkSize = accept.chunkSize;
    this.#joinChunkNumber = accept.nextChunkNumber;
    this.#buffer = new ChunkBuffer(accept.bufferSize);
    const delay = playoutDelayFor({
      bufferSize: accept.bufferSize,
      chunkIntervalMillis: this.#timing.chunkIntervalMillis,
      monitor: this.#complaints.monitor,
      repair: config.repair,
      playoutDelayMillis: config.playoutDelayMillis,
      playoutDelayChunks: config.playoutDelayChunks,
    });
    this.#delay = delay.chunks;
    this.#neighbourSpreadChunks = relaySpreadChunksFor(config.relaySpreadChunks, delay.peerChunks);
    if (delay.requestedChunks !== null) {
      this.#context.emit({
        name: 'config-adjust',
        level: 'warn',
        fields: {
          option: 'playoutDelayChunks',
          requested: delay.requestedChunks,
          used: delay.chunks,
          why: `the source's buffer B is ${accept.bufferSize}: the delay must be below B`,
        },
      });
    }
    // The neighbours spread their relays as a non-monitor does with the same options (a
    // monitor's own spread is shorter): repair waits for that spread.
    this.#repair = config.repair
      ? new ChunkRepair(
          config.random,
          {
            memberId: accept.memberId,
            bufferSize: accept.bufferSize,
            playoutDelayChunks: delay.chunks,
            neighbourSpreadChunks: relaySpreadChunksFor(config.relaySpreadChunks, delay.peerChunks),
            askSource: config.repairFromSource && !this.#complaints.monitor,
          },
          now,
          this,
          this.#neighbours,
        )
      : null;
    return delay;
  }

  /**
   * The buffer index of a chunk if it may be stored: payload within the chunk size, number
   * within the window. Else the drop is counted and null returned. A chunk from the source
   * beyond the window moves the window (we fell behind); from anyone else it is dropped, and
   * so is one numbered beyond the source's schedule (it was not cut yet), so a stray or
   * forged number cannot push the play-out around.
   */
  acceptableIndex(chunk: Chunk, from: Endpoint, fromSource: boolean, now: Instant): number | null {
    const context = this.#context;
    if (chunk.payload.length > this.#chunkSize) {
      context.drop('oversized-chunk', from);
      return null;
    }
    const timing = this.#timing;
    if (
      !fromSource &&
      timing.aheadOfSchedule(chunk.chunkNumber, now) > timing.scheduleToleranceChunks
    ) {
      context.drop('ahead-of-schedule', from);
      return null;
    }
    // Chunks cut before our accept were relayed (partly) before the others knew us: starting
    // the play-out there would leave holes. The stream starts for us at the accept's next
    // chunk number (a chunk from then on reaches us: our hellos overtake its relays).
    if (!this.#playing && chunkNumberAfter(this.#joinChunkNumber, chunk.chunkNumber)) {
      context.stats.chunksBeforeJoin++;
      return null;
    }
    const buffer = this.#buffer;
    if (!buffer.anchored) return this.#anchor(chunk.chunkNumber);
    const index = buffer.indexOf(chunk.chunkNumber);
    const size = buffer.capacity;
    if (!this.#playing) {
      if (index > this.#highestIndex - size && index < this.#lowestIndex + size) return index;
      if (fromSource) {
        // The source is the authority on where the stream is: start buffering again there.
        context.emit({
          name: 'buffer-resync',
          level: 'warn',
          fields: { chunkNumber: chunk.chunkNumber },
        });
        return this.#anchor(chunk.chunkNumber);
      }
      context.drop('out-of-window', from);
      return null;
    }
    if (index >= this.#playIndex && index < this.#playIndex + size) return index;
    if (fromSource && index >= this.#playIndex + size) {
      return this.#skipAhead(chunk.chunkNumber, index);
    }
    context.drop('out-of-window', from);
    return null;
  }

  /** The chunk's play time has passed (an LRS resend that came too late for us). */
  isLate(chunkNumber: number): boolean {
    const buffer = this.#buffer;
    return buffer.anchored && this.#playing && buffer.indexOf(chunkNumber) < this.#playIndex;
  }

  /** Stores an accepted chunk; false when it is a duplicate (the first copy wins). */
  store(chunk: Chunk, index: number, now: Instant): boolean {
    const buffer = this.#buffer;
    if (buffer.has(index)) {
      this.#context.stats.chunksDuplicated++;
      return false;
    }
    buffer.put(index, chunk.payload);
    this.#repair?.stored(index, chunk.origin, now);
    return true;
  }

  /**
   * A chunk within the window arrived, new to us (verified or not yet): the pace of
   * arrivals measures the chunk interval before play.
   */
  arrived(index: number, now: Instant): void {
    if (this.#firstArrivalAt === null) {
      this.#firstArrivalAt = now;
      this.#firstArrivalIndex = index;
    }
    if (index > this.#newestArrivalIndex) this.#newestArrivalIndex = index;
  }

  /**
   * Signed chunks are checked (the source signs, we verify): a chunk waits for its digest
   * before it is stored and relayed, so chunks reach us in bursts, a run at a time, and
   * their pace before play says nothing of the interval: the delay is not shortened.
   */
  verifying(): void {
    this.#verified = true;
  }

  /**
   * Signed chunks: a digest covered a run of `chunks`. A chunk waits up to a run for its
   * digest before it is stored and relayed, so before playing the delay grows by the
   * longest run seen. Repair's wait is unchanged: it counts from the newest verified chunk,
   * which lags by the same run (adding the run there left no time to ask before play).
   */
  signedRun(chunks: number): void {
    if (this.#playing || chunks <= this.#signedRunChunks) return;
    this.#delay = Math.min(this.#buffer.capacity - 1, this.#delay + chunks - this.#signedRunChunks);
    this.#signedRunChunks = chunks;
    this.#repair?.adjustDelay(this.#delay, this.#neighbourSpreadChunks);
  }

  /** After a chunk was stored: the window moves, what is due is played, repair looks again. */
  advance(index: number, now: Instant): void {
    if (index < this.#lowestIndex && !this.#playing) this.#lowestIndex = index;
    if (index > this.#highestIndex) {
      const chunkTimes = index - this.#highestIndex;
      this.#highestIndex = index;
      this.#hooks.advanced(chunkTimes);
    }
    if (!this.#playing) this.#adjustDelayBeforePlay(now);
    this.#playDue(now);
    this.#runRepair(now);
  }

  /** Stream end: plays what the buffer holds, in order (a missing chunk as null). */
  playRemaining(): void {
    const buffer = this.#buffer;
    if (!buffer.anchored || buffer.filled === 0) return;
    if (!this.#playing) {
      this.#playing = true;
      this.#playIndex = this.#lowestIndex;
    }
    while (this.#playIndex <= this.#highestIndex) this.#playOne();
  }

  /**
   * A source that has not measured its ingest rate yet announces its initial estimate
   * (20 ms by default), so an early joiner would turn the time-based delay into too many
   * chunks (500 ms at 64 ms per chunk: 25 instead of 8). Before playing, once a few chunks
   * came, the interval they arrived at is measured and the delay recomputed; only ever
   * shortened (an interval measured across late relays reads short, so errors lean long).
   */
  #adjustDelayBeforePlay(now: Instant): void {
    const config = this.#config;
    if (config.playoutDelayChunks !== null || this.#firstArrivalAt === null || this.#verified) {
      return;
    }
    const span = this.#newestArrivalIndex - this.#firstArrivalIndex;
    // Arrivals over paths of different lengths (the source's chunks; relays, spread over
    // half the delay) skew a short span: at 2 Mbit/s MEASURE_CHUNKS last 16 ms, and a 20-50
    // ms skew read 5-6 ms for 4 ms, which shortened the delay by a third (500 -> 380 ms; the
    // worst peer lost 17-53% in the simulator). So the span must last half the delay asked
    // for, and the interval read at least twice the announced one: an early joiner of a
    // source still on its 20 ms estimate reads 64 ms at 128 kbit/s, 3.2 times.
    const elapsed = now - this.#firstArrivalAt;
    if (span < MEASURE_CHUNKS || elapsed < config.playoutDelayMillis / 2) return;
    const measured = elapsed / span;
    const announced = this.#timing.chunkIntervalMillis;
    if (!(measured > announced * 2)) return;
    const delay = playoutDelayFor({
      bufferSize: this.#buffer.capacity,
      chunkIntervalMillis: measured,
      monitor: this.#complaints.monitor,
      repair: config.repair,
      playoutDelayMillis: config.playoutDelayMillis,
      playoutDelayChunks: null,
    });
    const chunks = delay.chunks + this.#signedRunChunks;
    if (chunks >= this.#delay) return;
    this.#context.emit({
      name: 'config-adjust',
      level: 'info',
      fields: {
        option: 'playoutDelayMillis',
        requested: config.playoutDelayMillis,
        used: chunks,
        previous: this.#delay,
        why: `chunks arrive every ${measured.toFixed(1)} ms, not the ${announced.toFixed(1)} ms the join accept announced`,
      },
    });
    this.#timing.remeasured(measured);
    this.#delay = chunks;
    this.#hooks.delayShortened(delay);
    this.#neighbourSpreadChunks = relaySpreadChunksFor(config.relaySpreadChunks, delay.peerChunks);
    this.#repair?.adjustDelay(chunks, this.#neighbourSpreadChunks);
  }

  /**
   * The newest chunk index play-out goes by: the newest received, but no further than the
   * source's schedule at `now` allows (a chunk ahead of it was not cut yet: forged).
   */
  #newestScheduled(now: Instant): number {
    const newest = this.#highestIndex;
    const ahead = this.#timing.aheadOfSchedule(this.#buffer.numberOf(newest), now);
    return ahead > 0 ? newest - Math.ceil(ahead) : newest;
  }

  /** Plays every chunk that is `delay` behind the newest one the schedule allows. */
  #playDue(now: Instant): void {
    const newest = this.#newestScheduled(now);
    if (!this.#playing) {
      if (newest - this.#lowestIndex < this.#delay) return;
      this.#playing = true;
      this.#playIndex = this.#lowestIndex;
      this.#context.emit({
        name: 'play-start',
        level: 'info',
        fields: {
          chunkNumber: this.#buffer.numberOf(this.#playIndex),
          bufferedChunks: this.#buffer.filled,
        },
      });
    }
    while (newest - this.#playIndex >= this.#delay) this.#playOne();
  }

  #playOne(): void {
    const context = this.#context;
    const buffer = this.#buffer;
    const index = this.#playIndex;
    const chunkNumber = buffer.numberOf(index);
    const payload = buffer.take(index);
    this.#playIndex = index + 1;
    buffer.rebase(this.#playIndex);
    if (payload !== null) {
      context.stats.chunksPlayed++;
      context.stats.bytesPlayed += payload.length;
    } else {
      context.stats.chunksLost++;
      // Debug: at 1% loss this is a line a second; the counters carry it to logs and metrics.
      context.emit({
        name: 'chunk-lost',
        level: 'debug',
        fields: { chunkNumber, lost: context.stats.chunksLost },
      });
      // Rule 8: at play time, unless repair gave up on it earlier and said so already.
      if (!this.#repair?.reported(index)) this.#complaints.lost(chunkNumber);
    }
    context.push({ type: 'play', chunkNumber, payload });
  }

  /** A source chunk beyond the window: we fell behind; play (or skip) up to it. */
  #skipAhead(chunkNumber: number, index: number): number {
    const size = this.#buffer.capacity;
    const behind = index - (this.#playIndex + size - 1);
    if (behind > 4 * size) {
      // Too far to play nulls one by one: count them lost and buffer again from here.
      this.#context.stats.chunksLost += index - this.#playIndex;
      this.#context.emit({
        name: 'buffer-resync',
        level: 'warn',
        fields: { chunkNumber, skippedChunks: index - this.#playIndex },
      });
      this.#playing = false;
      return this.#anchor(chunkNumber);
    }
    const target = this.#playIndex + behind;
    while (this.#playIndex < target) this.#playOne();
    return this.#buffer.indexOf(chunkNumber);
  }

  /** `chunkNumber` becomes index 0 of an empty buffer (the first chunk, or a resync). */
  #anchor(chunkNumber: number): number {
    this.#buffer.anchor(chunkNumber);
    this.#lowestIndex = 0;
    this.#highestIndex = 0;
    return 0;
  }

  // -------------------------------------------------------------------------------------
  // RMS-lite repair (chunk-repair.ts)

  /**
   * Arms timer `repair` while streaming, for the core to call after each input and timeout
   * (the repair's deadline moves with every chunk stored and every request sent): at the
   * repair's own next deadline, or earlier if another timer wakes the core first. Repair
   * looks at the buffer whenever the core wakes: a monitor's complaint about a chunk whose
   * retry is due goes out then even while the request budget holds back the retry itself,
   * which the repair's own deadline (the next token) does not show.
   */
  followRepair(): void {
    const timers = this.#context.timers;
    timers.stop('repair');
    if (this.#repair === null || this.#context.state !== 'streaming') return;
    const at = Math.min(
      this.#repair.nextAt() ?? Number.POSITIVE_INFINITY,
      timers.next() ?? Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(at)) timers.set('repair', at);
  }

  /**
   * A neighbour's chunk-request. Only a verified neighbour asking in its own name is
   * answered (an unverified address could be spoofed: answering would reflect chunks at
   * it), from our buffer, flagged recovered, unless rate-limited. Not charged to the
   * requester's debt (rule 7; chunk-repair.ts says why).
   */
  chunkRequest(neighbour: Neighbour, request: ChunkRequest, now: Instant): void {
    const context = this.#context;
    const repair = this.#repair;
    if (repair === null || !neighbour.verified) {
      context.drop('unexpected', neighbour.endpoint, request.type);
      return;
    }
    if (request.memberId !== neighbour.memberId) {
      context.drop('bad-origin', neighbour.endpoint, 'chunk-request for another member');
      return;
    }
    const buffer = this.#buffer;
    const index = buffer.anchored ? buffer.indexOf(request.chunkNumber) : null;
    const payload = index === null ? null : buffer.peek(index);
    const answer = repair.answer(neighbour.memberId, request.chunkNumber, index, payload, now);
    if (answer === null) return;
    // The digest goes along, so the answer is valid even where the digest was lost.
    const signature = this.#hooks.digestFor(answer.chunkNumber) ?? answer.signature;
    context.sendBytes(neighbour.endpoint, encodeDatagram({ ...answer, signature }));
  }

  /** Asks neighbours for the chunks that are overdue; a monitor complains about the rest. */
  #runRepair(now: Instant): void {
    const repair = this.#repair;
    const context = this.#context;
    if (repair === null || context.state !== 'streaming' || !this.#buffer.anchored) return;
    for (const request of repair.poll(now)) {
      const to =
        request.memberId === null
          ? context.source
          : this.#neighbours.get(request.memberId)?.endpoint;
      if (to === undefined) continue;
      context.sendMessage(to, {
        type: 'chunk-request',
        memberId: context.memberId,
        chunkNumber: request.chunkNumber,
      });
    }
    // Rule 8 and LRS, early: what repair cannot get was most likely lost on the source's hop.
    for (const chunkNumber of repair.takeUnrepairable()) this.#complaints.lost(chunkNumber);
  }
}
