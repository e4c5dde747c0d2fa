import type { Instant } from '@p2psp/wire';

/** Weight of a new sample in the interval moving averages (1/8, as TCP's SRTT, RFC 6298). */
const AVERAGE_WEIGHT = 1 / 8;

/**
 * The stream's timing as this peer sees it, read by relaying (rule 3), play-out (rule 5)
 * and repair: the chunk interval, announced by the join accept and then measured from the
 * source's chunks, and the gap between two source chunks to us (about |T| chunk intervals:
 * the source's round robin, rule 1).
 */
export class StreamTiming {
  #chunkIntervalMillis = 0;
  #sourceGapMillis: number | null = null;
  #lastSourceChunkAt: Instant | null = null;
  #lastSourceChunkIndex = 0;

  get chunkIntervalMillis(): number {
    return this.#chunkIntervalMillis;
  }

  /** The measured time between two source chunks to us, or null before two arrived. */
  get sourceGapMillis(): number | null {
    return this.#sourceGapMillis;
  }

  /** Rule 4: the interval the join accept announced. */
  start(chunkIntervalMicros: number): void {
    this.#chunkIntervalMillis = Math.max(0.01, chunkIntervalMicros / 1000);
  }

  /** A source chunk (its buffer index) arrived at `now`: both averages move towards it. */
  sourceChunk(index: number, now: Instant): void {
    const last = this.#lastSourceChunkAt;
    if (last !== null && index > this.#lastSourceChunkIndex) {
      const gap = now - last;
      const perChunk = gap / (index - this.#lastSourceChunkIndex);
      this.#chunkIntervalMillis += AVERAGE_WEIGHT * (perChunk - this.#chunkIntervalMillis);
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
