import type { ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every p2psp metric name starts with this (Prometheus naming: one application prefix). */
export const METRICS_PREFIX = 'p2psp_';

/** A histogram: `observe(seconds)`. */
export type MetricsHistogram = Pick<Histogram, 'observe'>;

/** Labelled values: one time series per key (a reason, a kind, a role). */
export type LabelledValues = Readonly<Record<string, number>>;

/** One row of `NodeMetrics.statMetrics`: a counter or a gauge read from a core's stats. */
export interface StatMetric<Stats> {
  readonly kind: 'counter' | 'gauge';
  /** Without the `p2psp_` prefix; a counter's ends in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly read: (stats: Stats) => number;
}

const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * A node's Prometheus metrics on prom-client: the process metrics (`process_*`, `nodejs_*`,
 * standard names so stock dashboards work) and the node's own, named `p2psp_*` in base
 * units. Counters and gauges read the core's stats at scrape time (`collect`), so the
 * stream's hot path pays nothing; only events rare enough to observe (a join) feed a
 * histogram directly.
 */
export class NodeMetrics {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three gauges `_total` (promtool: "non-counter metrics should not have
    // _total suffix"); their per-type breakdowns (`nodejs_active_handles`...) stay.
    for (const name of GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
  }

  /** A counter (`name` ends in `_total`) read at scrape time. */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      ...this.#named(name, help),
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** A counter with one label, read at scrape time (every key of the record is a series). */
  labelledCounter(name: string, help: string, label: string, read: () => LabelledValues): void {
    new Counter({
      ...this.#named(name, help),
      labelNames: [label],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.inc({ [label]: key }, value);
      },
    });
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      ...this.#named(name, help),
      collect() {
        this.set(read());
      },
    });
  }

  /** A gauge with one label, read at scrape time; keys gone from the record are dropped. */
  labelledGauge(name: string, help: string, label: string, read: () => LabelledValues): void {
    new Gauge({
      ...this.#named(name, help),
      labelNames: [label],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.set({ [label]: key }, value);
      },
    });
  }

  /**
   * Counters and gauges that each read one figure of a core's stats at scrape time, as a
   * table; they read 0 while `stats()` is null (before the core runs).
   */
  statMetrics<Stats>(stats: () => Stats | null, table: readonly StatMetric<Stats>[]): void {
    for (const { kind, name, help, read } of table) {
      const value = () => {
        const current = stats();
        return current === null ? 0 : read(current);
      };
      if (kind === 'counter') this.counter(name, help, value);
      else this.gauge(name, help, value);
    }
  }

  /** A histogram observed directly (in seconds: Prometheus base units). */
  histogram(name: string, help: string, buckets: readonly number[]): MetricsHistogram {
    return new Histogram({ ...this.#named(name, help), buckets: [...buckets] });
  }

  /** Answers `GET /metrics` in the Prometheus text format. */
  async respond(response: ServerResponse): Promise<void> {
    try {
      const body = await this.registry.metrics();
      response.writeHead(200, {
        'Content-Type': this.registry.contentType,
        'Cache-Control': 'no-store',
      });
      response.end(body);
    } catch (error) {
      response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`metrics failed: ${String((error as Error).message ?? error)}\n`);
    }
  }

  #named(name: string, help: string) {
    return { name: METRICS_PREFIX + name, help, registers: [this.registry] };
  }
}
