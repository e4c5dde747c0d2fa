import type { Endpoint } from './endpoint.js';
import { formatEndpoint } from './endpoint.js';
import { OutputQueue } from './output-queue.js';
import type { CoreEvent, CoreOutput, Instant } from './sans-io.js';
import { TimerTable } from './timer-table.js';

/**
 * The `datagram-drop` event every core reports (brief rule 3: bad input is dropped, counted
 * and logged once): the first drop of each reason only, so a flood cannot flood the log.
 */
export type DatagramDropEvent = CoreEvent<
  'datagram-drop',
  { reason: string; from: string; detail: string | null; note: string }
>;

export interface CoreContextOptions<Stats, DropReason extends string> {
  /** The core's counters, owned by the context and written by its components. */
  readonly stats: Stats;
  /** Every reason a datagram may be dropped for: each starts at 0. */
  readonly dropReasons: readonly DropReason[];
}

/**
 * What every component of a core shares: the output queue the driver drains, the named
 * timer table, one stats object and the drop counters. A core builds one context, hands it
 * to each component it wires, and implements `SansIoCore` on top of it:
 * `pollOutput()` is `poll()`, `pollTimeout()` is `timers.next()`, and `handleTimeout(now)`
 * is `timers.fire(now)`.
 */
export class CoreContext<
  Event extends CoreEvent,
  Stats extends object,
  TimerName extends string,
  DropReason extends string,
> {
  readonly #outputs = new OutputQueue<Event | DatagramDropEvent>();
  readonly timers = new TimerTable<TimerName>();
  readonly stats: Stats;
  /** Datagrams dropped, by reason (exposed as `stats().datagramsDropped`). */
  readonly drops: Record<DropReason, number>;

  constructor(options: CoreContextOptions<Stats, DropReason>) {
    this.stats = options.stats;
    this.drops = Object.fromEntries(options.dropReasons.map((reason) => [reason, 0])) as Record<
      DropReason,
      number
    >;
  }

  push(output: CoreOutput<Event | DatagramDropEvent>): void {
    this.#outputs.push(output);
  }

  send(to: Endpoint, bytes: Uint8Array): void {
    this.#outputs.push({ type: 'send-datagram', to, bytes });
  }

  emit(event: Event): void {
    this.#outputs.emit(event);
  }

  /** The next output for the driver, or undefined when drained. */
  poll(): CoreOutput<Event | DatagramDropEvent> | undefined {
    return this.#outputs.shift();
  }

  /** The earliest timer deadline (the core's `pollTimeout()`). */
  nextTimeout(): Instant | undefined {
    return this.timers.next();
  }

  /**
   * Counts a dropped datagram; the first drop of each reason is also reported as a
   * `datagram-drop` warn event (later ones are only counted).
   */
  drop(reason: DropReason, from: Endpoint, detail?: string): void {
    this.drops[reason]++;
    if (this.drops[reason] !== 1) return;
    this.#outputs.emit({
      name: 'datagram-drop',
      level: 'warn',
      fields: {
        reason,
        from: formatEndpoint(from),
        detail: detail ?? null,
        note: 'first of its kind; later ones are only counted (stats().datagramsDropped)',
      },
    });
  }
}
