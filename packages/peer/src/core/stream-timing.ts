import { chunkNumberDistance, type Instant } from '@p2psp/wire';

/** Weight of a new sample in the interval moving averages (1/8, as TCP's SRTT, RFC 6298). */
const AVERAGE_WEIGHT = 1 / 8;

/**
 * How far the source may run ahead of our schedule between two of its chunks: 5% of the
 * chunks elapsed since the anchor. An ingest that speeds up, or an accept that announced an
 * estimate, is followed; the next source chunk re-anchors the schedule anyway.
 */
const RATE_SLACK = 0.05;

/**
 * A relayed chunk numbered further ahead of the schedule than this (plus the rate slack) was
 * not cut yet by the source: forged, or from a source that restarted. The anchor arrives
 * late by its path's jitter; 250 ms covers a loaded host's event loop and a home uplink.
 */
const SCHEDULE_TOLERANCE_MILLIS = 250;
const SCHEDULE_TOLERANCE_CHUNKS = 4;

/**
 * The stream's timing as this peer sees it, read by relaying (rule 3), play-out (rule 5)
 * and repair: the chunk interval, announced by the join accept and then measured from the
 * source's chunks, and the gap between two source chunks to us (about |T| chunk intervals:
 * the source's round robin, rule 1).
 */
export class StreamTiming {
  #chunkIntervalMillis = 0;
  /**
   * The interval the schedule check goes by: the accept's until two source chunks measured
   * it. Play-out's remeasure from the first relays (`remeasured`) is not taken here: a few
   * chunks that came over paths of different lengths can read 25% long (80 ms for 64 ms
   * over 20-50 ms links), and a schedule that slow drops the source's real chunks as ahead
   * of it until the average catches up (a peer of a 100-peer simulation lost 27%).
   */
  #scheduleIntervalMillis = 0;
  /** A gap between two source chunks was measured: the schedule's average starts from it. */
  #measured = false;
  #sourceGapMillis: number | null = null;
  #lastSourceChunkAt: Instant | null = null;
  #lastSourceChunkIndex = 0;
  /** The source's schedule: chunk number `number` was the source's newest at `at`. */
  #anchor: { number: number; at: Instant } | null = null;

  get chunkIntervalMillis(): number {
    return this.#chunkIntervalMillis;
  }

  /** The measured time between two source chunks to us, or null before two arrived. */
  get sourceGapMillis(): number | null {
    return this.#sourceGapMillis;
  }

  /** Rule 4: the interval the join accept announced, and its next chunk number at `now`. */
  start(chunkIntervalMicros: number, nextChunkNumber: number, now: Instant): void {
    this.#chunkIntervalMillis = Math.max(0.01, chunkIntervalMicros / 1000);
    this.#scheduleIntervalMillis = this.#chunkIntervalMillis;
    this.#anchor = { number: nextChunkNumber >>> 0, at: now };
  }

  /** A chunk the source just cut and sent us (not an LRS resend): the schedule's anchor. */
  anchorSchedule(chunkNumber: number, now: Instant): void {
    const anchor = this.#anchor;
    if (anchor === null || chunkNumberDistance(chunkNumber, anchor.number) > 0) {
      this.#anchor = { number: chunkNumber >>> 0, at: now };
    }
  }

  /**
   * How many chunks `chunkNumber` lies beyond the newest chunk the source's schedule allows
   * at `now` (with the rate slack): <= 0 for a chunk the source may have cut already.
   */
  aheadOfSchedule(chunkNumber: number, now: Instant): number {
    const anchor = this.#anchor;
    if (anchor === null) return 0;
    const elapsed = Math.max(0, now - anchor.at) / this.#scheduleIntervalMillis;
    return chunkNumberDistance(chunkNumber, anchor.number) - elapsed * (1 + RATE_SLACK);
  }

  /** Chunks a relayed chunk may be ahead of the schedule before it is dropped. */
  get scheduleToleranceChunks(): number {
    return Math.max(
      SCHEDULE_TOLERANCE_CHUNKS,
      Math.ceil(SCHEDULE_TOLERANCE_MILLIS / this.#scheduleIntervalMillis),
    );
  }

  /** A source chunk (its buffer index) arrived at `now`: both averages move towards it. */
  sourceChunk(index: number, now: Instant): void {
    const last = this.#lastSourceChunkAt;
    if (last !== null && index > this.#lastSourceChunkIndex) {
      const gap = now - last;
      const perChunk = gap / (index - this.#lastSourceChunkIndex);
      this.#chunkIntervalMillis += AVERAGE_WEIGHT * (perChunk - this.#chunkIntervalMillis);
      // The schedule starts from the first measure (as the first RTT sample does, RFC 6298
      // section 2.2): with a source chunk every |T| intervals, averaging from the accept's
      // estimate would take minutes.
      this.#scheduleIntervalMillis = this.#measured
        ? this.#scheduleIntervalMillis + AVERAGE_WEIGHT * (perChunk - this.#scheduleIntervalMillis)
        : perChunk;
      this.#measured = true;
      this.#sourceGapMillis =
        this.#sourceGapMillis === null
          ? gap
          : this.#sourceGapMillis + AVERAGE_WEIGHT * (gap - this.#sourceGapMillis);
    }
    if (last === null || index > this.#lastSourceChunkIndex) {
      this.#lastSourceChunkAt = now;
      this.#lastSourceChunkIndex = index;
    }
  }

  /** Play-out measured the interval before playing and found the accept's estimate wrong. */
  remeasured(chunkIntervalMillis: number): void {
    this.#chunkIntervalMillis = chunkIntervalMillis;
  }
}
