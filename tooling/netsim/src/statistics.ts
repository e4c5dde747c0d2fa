/** Mean, 99th percentile (nearest rank) and maximum of a sample; zeros when empty. */
export interface Distribution {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly count: number;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (quantile: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1))]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    mean: sum / sorted.length,
    p50: rank(0.5),
    p99: rank(0.99),
    max: sorted[sorted.length - 1]!,
    count: sorted.length,
  };
}

/**
 * A distribution of many samples in whole milliseconds (one per chunk played: millions at
 * scale), kept as counts per millisecond so its memory does not grow with the samples.
 * Percentiles are nearest rank, to the millisecond; samples beyond the range count as its top.
 */
export class MillisecondHistogram {
  readonly #counts: Uint32Array;
  #count = 0;
  #sum = 0;
  #max = 0;

  constructor(rangeMillis: number) {
    this.#counts = new Uint32Array(Math.max(1, Math.ceil(rangeMillis)) + 1);
  }

  add(millis: number): void {
    const bin = Math.min(this.#counts.length - 1, Math.max(0, Math.round(millis)));
    this.#counts[bin]! += 1;
    this.#count += 1;
    this.#sum += millis;
    if (millis > this.#max) this.#max = millis;
  }

  distribution(): Distribution {
    const count = this.#count;
    if (count === 0) return { mean: 0, p50: 0, p99: 0, max: 0, count: 0 };
    const rank = (quantile: number): number => {
      const wanted = Math.max(1, Math.ceil(quantile * count));
      let seen = 0;
      for (let bin = 0; bin < this.#counts.length; bin += 1) {
        seen += this.#counts[bin]!;
        if (seen >= wanted) return bin;
      }
      return this.#counts.length - 1;
    };
    return { mean: this.#sum / count, p50: rank(0.5), p99: rank(0.99), max: this.#max, count };
  }
}
