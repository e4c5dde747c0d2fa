import { type Instant, type Random, reconnectDelay } from '@p2psp/wire';
import { PeerConfigError } from './errors.js';

export interface RejoinOptions {
  /**
   * How long a peer keeps trying to join again after the source removed it or fell
   * silent, from the end of its last session; then it stops with the cause. 0 turns
   * rejoining off (the peer stops at once, as a plain PeerCore does). Default 60,000 ms:
   * a source restarted by a supervisor is back well within it.
   */
  readonly timeoutMillis?: number;
  /** The first delay before an attempt, doubled after each failed one. Default 500 ms. */
  readonly minDelayMillis?: number;
  /** The cap of that doubling. Default 5,000 ms. */
  readonly maxDelayMillis?: number;
}

export const REJOIN_DEFAULTS = {
  timeoutMillis: 60_000,
  minDelayMillis: 500,
  maxDelayMillis: 5000,
} as const;

export type ResolvedRejoinOptions = { readonly [Key in keyof typeof REJOIN_DEFAULTS]: number };

/** Checks the options when the peer is built, naming the option and the fix. */
export function resolveRejoinOptions(options: RejoinOptions = {}): ResolvedRejoinOptions {
  const resolved = { ...REJOIN_DEFAULTS, ...options };
  for (const [option, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 0 || value > 24 * 3_600_000) {
      throw new PeerConfigError(
        `rejoin.${option}`,
        `rejoin.${option} must be an integer from 0 to 86400000 ms, got ${value}; omit it for the default`,
      );
    }
  }
  if (resolved.minDelayMillis < 1 || resolved.minDelayMillis > resolved.maxDelayMillis) {
    throw new PeerConfigError(
      'rejoin.minDelayMillis',
      `rejoin.minDelayMillis must be from 1 to rejoin.maxDelayMillis (${resolved.maxDelayMillis}), got ${resolved.minDelayMillis}`,
    );
  }
  return resolved;
}

/** What the policy says after a session ended or an attempt failed. */
export type RejoinDecision =
  | { readonly kind: 'wait'; readonly attempt: number; readonly at: Instant }
  | { readonly kind: 'give-up'; readonly attempts: number; readonly elapsedMillis: number };

/**
 * When to join again, and when to stop trying: deterministic on the time it is given and
 * its seeded randomness (sans-IO). Attempt n waits a doubling from `minDelayMillis`, capped
 * at `maxDelayMillis`, with equal jitter (@p2psp/wire `reconnectDelay`), so the peers of a
 * source that restarts come back spread out, not all in the same millisecond. An attempt
 * that would start past `timeoutMillis` after the streak began is not made.
 */
export class RejoinPolicy {
  readonly options: ResolvedRejoinOptions;
  readonly #random: Random;
  /** When the current streak began (the session ended), or null between streaks. */
  #since: Instant | null = null;
  #attempts = 0;

  constructor(options: ResolvedRejoinOptions, random: Random) {
    this.options = options;
    this.#random = random;
  }

  /** Attempts made in the current streak (0 between streaks). */
  get attempts(): number {
    return this.#attempts;
  }

  /** When the current streak began, or null. */
  get since(): Instant | null {
    return this.#since;
  }

  /** A session ended (first call of a streak) or an attempt failed: wait, or give up. */
  failed(now: Instant): RejoinDecision {
    this.#since ??= now;
    const elapsedMillis = now - this.#since;
    if (this.options.timeoutMillis === 0) {
      return { kind: 'give-up', attempts: this.#attempts, elapsedMillis };
    }
    const delay = reconnectDelay(
      this.#attempts,
      this.options.minDelayMillis,
      this.options.maxDelayMillis,
      () => this.#random.next(),
    );
    if (elapsedMillis + delay > this.options.timeoutMillis) {
      return { kind: 'give-up', attempts: this.#attempts, elapsedMillis };
    }
    return { kind: 'wait', attempt: this.#attempts + 1, at: now + delay };
  }

  /** The attempt `failed` announced starts now. */
  attempt(): void {
    this.#attempts++;
  }

  /** Joined again: the streak is over, the next one starts from the first delay. */
  joined(): void {
    this.#since = null;
    this.#attempts = 0;
  }
}
