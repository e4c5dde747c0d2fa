import { performance } from 'node:perf_hooks';
import type { Instant } from '@p2psp/wire';

/** Monotonic milliseconds for the cores (never Date.now(): wall clocks jump). */
export function monotonicNow(): Instant {
  return performance.now();
}

/** What a driver needs of a core: its queued outputs, its next deadline and that deadline. */
export interface DrivenCore<Output> {
  pollOutput(): Output | undefined;
  pollTimeout(): Instant | undefined;
  handleTimeout(now: Instant): void;
}

export interface CoreDriverOptions<Output> {
  /** Performs one output: sends a datagram, writes to a socket, settles a promise... */
  readonly perform: (output: Output) => void;
  /**
   * Called when `perform` throws (a callback of the embedder failed); the other outputs are
   * still performed. Without it the error propagates to whoever fed the input.
   */
  readonly onPerformError?: (error: unknown, output: Output) => void;
  /** Monotonic milliseconds; default `performance.now()`. */
  readonly clock?: () => Instant;
}

/**
 * Runs a sans-IO core on Node's event loop, the way quinn's endpoint driver runs
 * quinn-proto: each input goes through `run`, after which every queued output is performed
 * and one timer is armed at `core.pollTimeout()`. An input that arrives while outputs are
 * being performed (a callback feeding the core) waits for that drain to end, so the core
 * never sees a call inside another.
 */
export class CoreDriver<Output> {
  readonly #core: DrivenCore<Output>;
  readonly #perform: (output: Output) => void;
  readonly #onPerformError: ((error: unknown, output: Output) => void) | undefined;
  readonly #clock: () => Instant;
  readonly #queued: ((now: Instant) => void)[] = [];
  #running = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline: Instant | undefined;

  constructor(core: DrivenCore<Output>, options: CoreDriverOptions<Output>) {
    this.#core = core;
    this.#perform = options.perform;
    this.#onPerformError = options.onPerformError;
    this.#clock = options.clock ?? monotonicNow;
  }

  /** The driver's clock now. */
  now(): Instant {
    return this.#clock();
  }

  /**
   * Gives the core one input (`input(now)` calls one of its handlers), then performs its
   * outputs and re-arms the timer. Returns what `input` returned, or undefined when the
   * input waits for the drain in progress or the driver is stopped.
   */
  run<Result>(input: (now: Instant) => Result): Result | undefined {
    if (this.#stopped) return undefined;
    if (this.#running) {
      this.#queued.push(input);
      return undefined;
    }
    this.#running = true;
    let result: Result;
    try {
      result = input(this.#clock());
      this.#drain();
      for (let next = this.#queued.shift(); next && !this.#stopped; next = this.#queued.shift()) {
        next(this.#clock());
        this.#drain();
      }
    } finally {
      this.#running = false;
    }
    this.#arm();
    return result;
  }

  /** Stops the timer; later inputs are ignored. Outputs being performed still are. */
  stop(): void {
    this.#stopped = true;
    this.#queued.length = 0;
    this.#cancelTimer();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #drain(): void {
    for (let output = this.#core.pollOutput(); output !== undefined; ) {
      if (this.#onPerformError === undefined) {
        this.#perform(output);
      } else {
        try {
          this.#perform(output);
        } catch (error) {
          this.#onPerformError(error, output);
        }
      }
      output = this.#core.pollOutput();
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    const deadline = this.#core.pollTimeout();
    if (deadline === this.#timerDeadline && this.#timer !== undefined) return;
    this.#cancelTimer();
    if (deadline === undefined) return;
    this.#timerDeadline = deadline;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDeadline = undefined;
        this.run((now) => {
          // setTimeout may fire a little early on some platforms: only fire when due.
          const due = this.#core.pollTimeout();
          if (due !== undefined && due <= now) this.#core.handleTimeout(now);
        });
      },
      Math.max(0, Math.ceil(deadline - this.#clock())),
    );
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDeadline = undefined;
  }
}
