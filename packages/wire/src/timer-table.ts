import type { Instant } from './sans-io.js';

/**
 * A core's timers, one table keyed by name (after quinn-proto's `TimerTable`): a component
 * registers the timers it owns with the handler that runs when one expires, then sets and
 * stops them by name. The core's `pollTimeout()` is `next()` and its `handleTimeout(now)`
 * is `fire(now)`, so adding a timer is one `register` and nothing else.
 *
 * Expired timers fire in registration order, not deadline order: when several are due in
 * one call (a slow driver, or a virtual clock that jumps), the core's rules run in the
 * order the core was wired, the same on every driver.
 */
export class TimerTable<Name extends string = string> {
  readonly #names: Name[] = [];
  readonly #handlers: ((now: Instant) => void)[] = [];
  /** Deadline per registered timer, in registration order; null when stopped. */
  readonly #deadlines: (Instant | null)[] = [];
  readonly #index = new Map<Name, number>();

  /** Adds a timer, stopped. Each name is registered once, by the component that owns it. */
  register(name: Name, handler: (now: Instant) => void): void {
    if (this.#index.has(name)) throw new Error(`timer ${name} is registered twice`);
    this.#index.set(name, this.#names.length);
    this.#names.push(name);
    this.#handlers.push(handler);
    this.#deadlines.push(null);
  }

  /** (Re)arms `name` to fire once `now` reaches `at`. */
  set(name: Name, at: Instant): void {
    this.#deadlines[this.#slot(name)] = at;
  }

  /** Arms `name` at `at` unless it is already armed earlier. */
  setEarliest(name: Name, at: Instant): void {
    const slot = this.#slot(name);
    const current = this.#deadlines[slot] ?? null;
    if (current === null || at < current) this.#deadlines[slot] = at;
  }

  stop(name: Name): void {
    this.#deadlines[this.#slot(name)] = null;
  }

  /** Stops every timer (the core has stopped). */
  stopAll(): void {
    this.#deadlines.fill(null);
  }

  /** The deadline of `name`, or null when it is stopped. */
  deadline(name: Name): Instant | null {
    return this.#deadlines[this.#slot(name)] ?? null;
  }

  /** The earliest deadline of all, or undefined when every timer is stopped. */
  next(): Instant | undefined {
    let earliest = Number.POSITIVE_INFINITY;
    for (const deadline of this.#deadlines) {
      if (deadline !== null && deadline < earliest) earliest = deadline;
    }
    return Number.isFinite(earliest) ? earliest : undefined;
  }

  /**
   * Runs the handler of every timer due at `now`, once each, in registration order. A timer
   * is stopped before its handler runs; the handler re-arms it if it has more to do. A
   * handler may arm another timer: one due already fires in this call if it comes later in
   * the order, else on the driver's next `handleTimeout`.
   */
  fire(now: Instant): void {
    for (let slot = 0; slot < this.#names.length; slot++) {
      const deadline = this.#deadlines[slot] ?? null;
      if (deadline === null || deadline > now) continue;
      this.#deadlines[slot] = null;
      this.#handlers[slot]?.(now);
    }
  }

  #slot(name: Name): number {
    const slot = this.#index.get(name);
    if (slot === undefined) throw new Error(`timer ${name} is not registered`);
    return slot;
  }
}
