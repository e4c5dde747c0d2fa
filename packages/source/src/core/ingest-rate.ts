import type { Instant } from '@p2psp/wire';

/**
 * Moving average of the ingest rate over a time window, turned into the time between
 * chunks that the source announces in its join accept, so that peers can pace their
 * relays (rule 3). Times come from the driver: no clock here.
 */
export class IngestRate {
  readonly #windowMillis: number;
  readonly #fallbackIntervalMillis: number;
  readonly #times: number[] = [];
  readonly #sizes: number[] = [];
  #head = 0;
  #bytesInWindow = 0;

  constructor(windowMillis: number, fallbackIntervalMillis: number) {
    this.#windowMillis = windowMillis;
    this.#fallbackIntervalMillis = fallbackIntervalMillis;
  }

  add(now: Instant, bytes: number): void {
    this.#times.push(now);
    this.#sizes.push(bytes);
    this.#bytesInWindow += bytes;
    // Keep at least two samples, so that a slow ingest still has a span to measure.
    while (
      this.#times.length - this.#head > 2 &&
      now - this.#times[this.#head]! > this.#windowMillis
    ) {
      this.#bytesInWindow -= this.#sizes[this.#head]!;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#sizes.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Bytes per millisecond, or null until the samples span some time. */
  bytesPerMillisecond(): number | null {
    const count = this.#times.length - this.#head;
    if (count < 2) return null;
    const span = this.#times[this.#times.length - 1]! - this.#times[this.#head]!;
    if (span <= 0) return null;
    // The oldest sample's bytes arrived at the start of the span, not within it.
    return (this.#bytesInWindow - this.#sizes[this.#head]!) / span;
  }

  /** Milliseconds between two chunks of `chunkSize` bytes at the measured rate. */
  chunkIntervalMillis(chunkSize: number): number {
    const rate = this.bytesPerMillisecond();
    if (rate === null || rate <= 0) return this.#fallbackIntervalMillis;
    // Bounds keep the announced value meaningful for a burst or a near-stalled ingest.
    return Math.min(60_000, Math.max(0.05, chunkSize / rate));
  }
}
