import type { Instant } from '@p2psp/wire';
import { DebtCounters } from './debt-counters.js';
import { checkNumber } from './errors.js';

export interface NeighbourAccountingOptions {
  /** Debt past which a neighbour is dropped (rule 7). Default 32. */
  readonly debtThreshold?: number;
  /** Lowest debt (largest credit). Default `-debtThreshold`. */
  readonly debtFloor?: number;
  /**
   * Silence after which a neighbour is dropped (rule 6), in the unit of the clock the caller
   * passes as `now`: milliseconds (see `livenessTimeout`), or chunk times of the stream clock
   * as `@p2psp/peer` counts it. Undefined: never.
   */
  readonly livenessTimeout?: number;
}

/** Why a peer dropped a neighbour. */
export type NeighbourDropReason = 'debt' | 'timeout';

export interface NeighbourDrop<Key> {
  readonly neighbour: Key;
  readonly reason: NeighbourDropReason;
  /** Its debt when dropped. */
  readonly debt: number;
}

interface NeighbourRecord {
  lastHeardAt: Instant;
  external: boolean;
}

/**
 * A peer's accounting of its neighbours: debts (rule 7) and liveness (rule 6) in one place,
 * with external peers exempt from both (seed 000: they are fed and expected to send nothing,
 * so neither their debt nor their silence means anything; they leave by goodbye). A
 * neighbour is dropped, and forgotten here, the moment it passes the debt threshold or the
 * silence timeout; the caller removes it from its own lists.
 */
export class NeighbourAccounting<Key = string> {
  readonly debts: DebtCounters<Key>;
  /** The silence timeout, in the unit of the callers' `now` (see the option). */
  readonly livenessTimeout: number | undefined;
  readonly #neighbours = new Map<Key, NeighbourRecord>();

  constructor(options: NeighbourAccountingOptions = {}) {
    this.debts = new DebtCounters<Key>({
      ...(options.debtThreshold === undefined ? {} : { threshold: options.debtThreshold }),
      ...(options.debtFloor === undefined ? {} : { floor: options.debtFloor }),
    });
    this.livenessTimeout =
      options.livenessTimeout === undefined
        ? undefined
        : checkNumber('livenessTimeout', options.livenessTimeout, 0, 2 ** 31);
  }

  /** A neighbour learnt (join accept list, hello, chunk origin) at `now`. Idempotent. */
  add(neighbour: Key, now: Instant, options: { readonly external?: boolean } = {}): void {
    const existing = this.#neighbours.get(neighbour);
    if (existing === undefined) {
      this.#neighbours.set(neighbour, { lastHeardAt: now, external: false });
    }
    if (options.external === true) this.markExternal(neighbour);
  }

  /** The neighbour is an external peer (seed 000): never charged, never timed out. */
  markExternal(neighbour: Key): void {
    const record = this.#neighbours.get(neighbour);
    if (record !== undefined) record.external = true;
    this.debts.exempt(neighbour);
  }

  has(neighbour: Key): boolean {
    return this.#neighbours.has(neighbour);
  }

  isExternal(neighbour: Key): boolean {
    return this.#neighbours.get(neighbour)?.external === true;
  }

  get size(): number {
    return this.#neighbours.size;
  }

  /** Neighbours in the order they were learnt. */
  neighbours(): readonly Key[] {
    return [...this.#neighbours.keys()];
  }

  /** Forgets a neighbour (goodbye, or the source said it was expelled). */
  remove(neighbour: Key): void {
    this.#neighbours.delete(neighbour);
    this.debts.remove(neighbour);
  }

  /** This peer relayed a chunk to `neighbour`: +1 debt; the drop when it passes the threshold. */
  sent(neighbour: Key): NeighbourDrop<Key> | undefined {
    if (!this.#neighbours.has(neighbour)) return undefined;
    const charge = this.debts.sent(neighbour);
    if (!charge.overThreshold) return undefined;
    this.remove(neighbour);
    return { neighbour, reason: 'debt', debt: charge.debt };
  }

  /** A chunk arrived from `neighbour`: -1 debt, and it is alive. */
  received(neighbour: Key, now: Instant): void {
    if (!this.#neighbours.has(neighbour)) return;
    this.debts.received(neighbour);
    this.heard(neighbour, now);
  }

  /** Anything arrived from `neighbour` (a hello, a hello-ack): it is alive. */
  heard(neighbour: Key, now: Instant): void {
    const record = this.#neighbours.get(neighbour);
    if (record !== undefined && now > record.lastHeardAt) record.lastHeardAt = now;
  }

  /** Drops (and forgets) the non-external neighbours silent for the liveness timeout. */
  expireSilent(now: Instant): readonly NeighbourDrop<Key>[] {
    const timeout = this.livenessTimeout;
    if (timeout === undefined) return [];
    const drops: NeighbourDrop<Key>[] = [];
    for (const [neighbour, record] of this.#neighbours) {
      if (!record.external && now - record.lastHeardAt >= timeout) {
        drops.push({ neighbour, reason: 'timeout', debt: this.debts.debt(neighbour) });
      }
    }
    for (const drop of drops) this.remove(drop.neighbour);
    return drops;
  }

  /** The non-external neighbours heard nothing from for `silence` or more at `now`. */
  silent(now: Instant, silence: number): Key[] {
    const silent: Key[] = [];
    for (const [neighbour, record] of this.#neighbours) {
      if (!record.external && now - record.lastHeardAt >= silence) silent.push(neighbour);
    }
    return silent;
  }

  /** When `expireSilent` next has work (for `pollTimeout`), or undefined. */
  nextDeadline(): Instant | undefined {
    const timeout = this.livenessTimeout;
    if (timeout === undefined) return undefined;
    let deadline: Instant | undefined;
    for (const record of this.#neighbours.values()) {
      if (record.external) continue;
      const due = record.lastHeardAt + timeout;
      if (deadline === undefined || due < deadline) deadline = due;
    }
    return deadline;
  }
}
