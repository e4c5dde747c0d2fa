import type { MemberId } from '@p2psp/wire';
import { ClusterError, checkChoice, checkInteger, checkNumber } from './errors.js';

interface Contender<Key> {
  readonly key: Key;
  weight: number;
  current: number;
}

/**
 * Smooth weighted round robin (nginx's upstream algorithm): every pick adds each weight to
 * its contender's running score, picks the highest (the earliest added on ties) and takes
 * the total weight off the winner. Over any run of W picks (W the sum of the weights, fixed)
 * each key is picked exactly `weight` times, spread out rather than in bursts; with equal
 * weights it is plain round robin in insertion order (rule 1). Deterministic: no randomness.
 * Hand-written because it is twenty lines and must be deterministic across runs.
 */
export class WeightedRoundRobin<Key> {
  readonly #contenders: Contender<Key>[] = [];

  /** Adds `key` with an integer weight >= 1; a key already there only gets the new weight. */
  add(key: Key, weight = 1): void {
    checkInteger('weight', weight, 1);
    const existing = this.#find(key);
    if (existing !== undefined) {
      existing.weight = weight;
      return;
    }
    this.#contenders.push({ key, weight, current: 0 });
  }

  remove(key: Key): boolean {
    const index = this.#contenders.findIndex((contender) => contender.key === key);
    if (index < 0) return false;
    this.#contenders.splice(index, 1);
    return true;
  }

  has(key: Key): boolean {
    return this.#find(key) !== undefined;
  }

  setWeight(key: Key, weight: number): void {
    checkInteger('weight', weight, 1);
    const contender = this.#find(key);
    if (contender === undefined) {
      throw new ClusterError(
        'P2PSP_ERR_UNKNOWN_MEMBER',
        `${String(key)} is not scheduled; add() it first`,
      );
    }
    contender.weight = weight;
  }

  weightOf(key: Key): number | undefined {
    return this.#find(key)?.weight;
  }

  get size(): number {
    return this.#contenders.length;
  }

  /** Keys in insertion order. */
  keys(): readonly Key[] {
    return this.#contenders.map((contender) => contender.key);
  }

  /** The next key, or undefined when empty. */
  next(): Key | undefined {
    let total = 0;
    let best: Contender<Key> | undefined;
    for (const contender of this.#contenders) {
      contender.current += contender.weight;
      total += contender.weight;
      if (best === undefined || contender.current > best.current) best = contender;
    }
    if (best === undefined) return undefined;
    best.current -= total;
    return best.key;
  }

  #find(key: Key): Contender<Key> | undefined {
    return this.#contenders.find((contender) => contender.key === key);
  }
}

/**
 * `round-robin`: every member gets one chunk per round (DBS rule 1).
 * `adaptive`: ACS, weighted round robin with weights from each member's measured loss.
 */
export type SchedulingPolicy = 'round-robin' | 'adaptive';

export interface ChunkSchedulerOptions {
  readonly policy?: SchedulingPolicy;
  /** Weight of a member with no measured loss. Default 16. */
  readonly maximumWeight?: number;
  /** Weight of the least reliable member (never 0: a member always gets some chunks). Default 1. */
  readonly minimumWeight?: number;
  /**
   * How fast the loss estimate follows new evidence: the weight of one chunk in the moving
   * average (an exponentially weighted mean over about 1/smoothing chunks). Default 1/32.
   */
  readonly smoothing?: number;
  /**
   * The loss ratio at which a member falls to `minimumWeight`. Default 0.25: the weight
   * falls four times faster than the loss rises, so a peer short of upload capacity settles
   * where it loses little, not where its share merely matches its loss (a linear weight,
   * tolerance 1, leaves a half-capacity peer losing a third of its chunks; see the test).
   */
  readonly lossTolerance?: number;
}

/**
 * Chooses the member each source chunk goes to. Plain round robin (rule 1), or ACS: each
 * member keeps a moving estimate of the share of its chunks that monitors complained about
 * (decays by `smoothing` for every chunk sent to it, rises by `smoothing` for every charged
 * complaint, so it settles at the member's loss ratio), and its weight is
 * `maximumWeight * (1 - loss / lossTolerance)`, rounded, at least `minimumWeight`. A peer that cannot relay
 * everything it gets loses chunks, gets fewer, and so has fewer to relay.
 */
export class ChunkScheduler {
  readonly policy: SchedulingPolicy;
  readonly maximumWeight: number;
  readonly minimumWeight: number;
  readonly smoothing: number;
  readonly lossTolerance: number;
  readonly #order = new WeightedRoundRobin<MemberId>();
  readonly #loss = new Map<MemberId, number>();

  constructor(options: ChunkSchedulerOptions = {}) {
    this.policy = checkChoice('policy', options.policy ?? 'round-robin', [
      'round-robin',
      'adaptive',
    ]);
    this.maximumWeight = checkInteger('maximumWeight', options.maximumWeight ?? 16, 1, 1 << 20);
    this.minimumWeight = checkInteger(
      'minimumWeight',
      options.minimumWeight ?? 1,
      1,
      this.maximumWeight,
    );
    this.smoothing = checkNumber('smoothing', options.smoothing ?? 1 / 32, 1e-6, 1);
    this.lossTolerance = checkNumber('lossTolerance', options.lossTolerance ?? 0.25, 1e-6, 1);
  }

  /** Adds a member the source feeds (monitor or member), at full weight. */
  add(memberId: MemberId): void {
    if (this.#order.has(memberId)) return;
    this.#order.add(memberId, this.policy === 'adaptive' ? this.maximumWeight : 1);
    this.#loss.set(memberId, 0);
  }

  remove(memberId: MemberId): void {
    this.#order.remove(memberId);
    this.#loss.delete(memberId);
  }

  has(memberId: MemberId): boolean {
    return this.#order.has(memberId);
  }

  get size(): number {
    return this.#order.size;
  }

  /** Members in insertion order. */
  members(): readonly MemberId[] {
    return this.#order.keys();
  }

  /** The member the next chunk goes to (and counts the chunk as sent to it), or undefined. */
  next(): MemberId | undefined {
    const memberId = this.#order.next();
    if (memberId !== undefined && this.policy === 'adaptive') {
      this.#update(memberId, (loss) => loss * (1 - this.smoothing));
    }
    return memberId;
  }

  /** A monitor's complaint was charged to `memberId` (a `charged` ComplaintOutcome). */
  complaint(memberId: MemberId): void {
    if (this.policy === 'adaptive') {
      this.#update(memberId, (loss) => Math.min(1, loss + this.smoothing));
    }
  }

  /** The member's estimated loss ratio in [0, 1] (0 under plain round robin). */
  lossEstimateOf(memberId: MemberId): number | undefined {
    return this.#loss.get(memberId);
  }

  weightOf(memberId: MemberId): number | undefined {
    return this.#order.weightOf(memberId);
  }

  #update(memberId: MemberId, change: (loss: number) => number): void {
    const loss = this.#loss.get(memberId);
    if (loss === undefined) return;
    const next = change(loss);
    this.#loss.set(memberId, next);
    const share = Math.max(0, 1 - next / this.lossTolerance);
    const weight = Math.max(this.minimumWeight, Math.round(this.maximumWeight * share));
    this.#order.setWeight(memberId, weight);
  }
}
