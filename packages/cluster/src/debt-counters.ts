import { checkInteger } from './errors.js';

/** P2PSP's maximum chunk debt before a neighbour is dropped (its code's MAX_CHUNK_DEBT). */
export const DEFAULT_DEBT_THRESHOLD = 32;

export interface DebtCountersOptions {
  /** A neighbour whose debt goes PAST this is dropped (rule 7). Default 32. */
  readonly threshold?: number;
  /**
   * The lowest debt (largest credit) a neighbour can build up. Default `-threshold`: a
   * neighbour that relayed a lot earlier cannot bank unlimited credit and then free ride.
   */
  readonly floor?: number;
}

/** The result of charging a neighbour for one chunk sent to it. */
export interface DebtCharge {
  readonly debt: number;
  /** Past the threshold: drop the neighbour (rule 7). Never true for an exempt neighbour. */
  readonly overThreshold: boolean;
  readonly exempt: boolean;
}

/**
 * Peer-side free-riding defence (rule 7): a debt per neighbour, +1 for every chunk this
 * peer sends it, -1 for every chunk received from it. An honest neighbour relays one chunk
 * per round for the one it gets, so its debt hovers near zero; a free rider's grows by one a
 * round until it passes the threshold. External peers (seed 000) are exempt: they are sent
 * the stream and never expected to give anything back.
 *
 * `Key` is whatever the peer indexes neighbours by (a member id, or an endpoint string).
 */
export class DebtCounters<Key = string> {
  readonly threshold: number;
  readonly floor: number;
  readonly #debts = new Map<Key, number>();
  readonly #exempt = new Set<Key>();

  constructor(options: DebtCountersOptions = {}) {
    this.threshold = checkInteger('threshold', options.threshold ?? DEFAULT_DEBT_THRESHOLD, 0);
    this.floor = checkInteger(
      'floor',
      options.floor ?? -this.threshold,
      Number.MIN_SAFE_INTEGER,
      0,
    );
  }

  /** This peer sent a chunk to `neighbour`: +1. */
  sent(neighbour: Key): DebtCharge {
    if (this.#exempt.has(neighbour)) return { debt: 0, overThreshold: false, exempt: true };
    const debt = (this.#debts.get(neighbour) ?? 0) + 1;
    this.#debts.set(neighbour, debt);
    return { debt, overThreshold: debt > this.threshold, exempt: false };
  }

  /** This peer received a chunk from `neighbour`: -1 (not below the floor). */
  received(neighbour: Key): number {
    if (this.#exempt.has(neighbour)) return 0;
    const debt = Math.max(this.floor, (this.#debts.get(neighbour) ?? 0) - 1);
    this.#debts.set(neighbour, debt);
    return debt;
  }

  debt(neighbour: Key): number {
    return this.#debts.get(neighbour) ?? 0;
  }

  /** Never charge `neighbour` again (it is an external peer, seed 000). */
  exempt(neighbour: Key): void {
    this.#exempt.add(neighbour);
    this.#debts.delete(neighbour);
  }

  isExempt(neighbour: Key): boolean {
    return this.#exempt.has(neighbour);
  }

  /** Neighbours past the threshold, in the order they were first charged. */
  overThreshold(): readonly Key[] {
    return [...this.#debts].filter(([, debt]) => debt > this.threshold).map(([key]) => key);
  }

  /** Forgets a neighbour (it left or was dropped). */
  remove(neighbour: Key): void {
    this.#debts.delete(neighbour);
    this.#exempt.delete(neighbour);
  }

  get size(): number {
    return this.#debts.size;
  }
}
