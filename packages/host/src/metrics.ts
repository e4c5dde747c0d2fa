import type { ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every p2psp metric name starts with this (Prometheus naming: one application prefix). */
export const METRICS_PREFIX = 'p2psp_';

/** A histogram: `observe(seconds)`. */
export type MetricsHistogram = Pick<Histogram, 'observe'>;

/** Labelled values: one time series per key (a reason, a kind, a role). */
export type LabelledValues = Readonly<Record<string, number>>;

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
      name: METRICS_PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** A counter with one label, read at scrape time (every key of the record is a series). */
  labelledCounter(name: string, help: string, label: string, read: () => LabelledValues): void {
    new Counter({
      name: METRICS_PREFIX + name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.inc({ [label]: key }, value);
      },
    });
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name: METRICS_PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A gauge with one label, read at scrape time; keys gone from the record are dropped. */
  labelledGauge(name: string, help: string, label: string, read: () => LabelledValues): void {
    new Gauge({
      name: METRICS_PREFIX + name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.set({ [label]: key }, value);
      },
    });
  }

  /** A histogram observed directly (in seconds: Prometheus base units). */
  histogram(name: string, help: string, buckets: readonly number[]): MetricsHistogram {
    return new Histogram({
      name: METRICS_PREFIX + name,
      help,
      buckets: [...buckets],
      registers: [this.registry],
    });
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
}
