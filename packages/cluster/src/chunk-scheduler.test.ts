import type { MemberId } from '@p2psp/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkScheduler, type SchedulingPolicy, WeightedRoundRobin } from './chunk-scheduler.js';

describe('WeightedRoundRobin (smooth, nginx)', () => {
  it('picks each key exactly `weight` times in every run of W picks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (weights, cycles) => {
          const order = new WeightedRoundRobin<number>();
          for (const [key, weight] of weights.entries()) order.add(key, weight);
          const total = weights.reduce((sum, weight) => sum + weight, 0);
          for (let cycle = 0; cycle < cycles; cycle++) {
            const picks = new Array<number>(weights.length).fill(0);
            for (let pick = 0; pick < total; pick++) {
              const key = order.next() as number;
              picks[key] = (picks[key] ?? 0) + 1;
            }
            if (picks.some((count, key) => count !== weights[key])) return false;
          }
          return true;
        },
      ),
    );
  });

  it('spreads a heavy key out instead of sending it a burst', () => {
    const order = new WeightedRoundRobin<string>();
    order.add('a', 5);
    order.add('b', 1);
    order.add('c', 1);
    expect(Array.from({ length: 7 }, () => order.next()).join('')).toBe('aabacaa');
  });

  it('is plain round robin in insertion order with equal weights, across joins and leaves', () => {
    const order = new WeightedRoundRobin<number>();
    for (const key of [1, 2, 3]) order.add(key);
    expect(Array.from({ length: 6 }, () => order.next())).toEqual([1, 2, 3, 1, 2, 3]);
    order.remove(2);
    order.add(4);
    const picks = Array.from({ length: 9 }, () => order.next());
    // After the change every member gets exactly one chunk per round of three.
    for (let round = 0; round < 3; round++) {
      expect(new Set(picks.slice(round * 3, round * 3 + 3))).toEqual(new Set([1, 3, 4]));
    }
    expect(order.next()).toBeDefined();
    expect(new WeightedRoundRobin<number>().next()).toBeUndefined();
  });

  it('refuses bad weights and unknown keys with stable codes', () => {
    const order = new WeightedRoundRobin<number>();
    expect(() => order.add(1, 0)).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_INVALID_OPTION' }),
    );
    expect(() => order.setWeight(9, 1)).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_UNKNOWN_MEMBER' }),
    );
  });
});

describe('ChunkScheduler', () => {
  it('under round robin gives every member one chunk per round (rule 1), complaints or not', () => {
    const scheduler = new ChunkScheduler();
    for (const memberId of [10, 11, 12]) scheduler.add(memberId);
    for (let index = 0; index < 50; index++) scheduler.complaint(11);
    expect(Array.from({ length: 6 }, () => scheduler.next())).toEqual([10, 11, 12, 10, 11, 12]);
    expect(scheduler.lossEstimateOf(11)).toBe(0);
  });

  it('under ACS settles each estimate at the member loss ratio and weights by it', () => {
    const scheduler = new ChunkScheduler({ policy: 'adaptive', smoothing: 1 / 64 });
    scheduler.add(1);
    scheduler.add(2);
    scheduler.add(3);
    const lossRatio: Record<number, number> = { 1: 0, 2: 0.1, 3: 1 };
    const owed: Record<number, number> = { 1: 0, 2: 0, 3: 0 };
    for (let chunk = 0; chunk < 20_000; chunk++) {
      const memberId = scheduler.next() as MemberId;
      owed[memberId] = (owed[memberId] ?? 0) + (lossRatio[memberId] ?? 0);
      if ((owed[memberId] ?? 0) >= 1) {
        owed[memberId] = (owed[memberId] ?? 0) - 1;
        scheduler.complaint(memberId);
      }
    }
    expect(scheduler.lossEstimateOf(1)).toBe(0);
    expect(scheduler.lossEstimateOf(2)).toBeCloseTo(0.1, 1);
    expect(scheduler.lossEstimateOf(3)).toBeGreaterThan(0.9);
    expect(scheduler.weightOf(1)).toBe(16);
    // 16 * (1 - 0.1 / 0.25), give or take the estimate's noise.
    expect(scheduler.weightOf(2)).toBeGreaterThanOrEqual(8);
    expect(scheduler.weightOf(2)).toBeLessThanOrEqual(12);
    expect(scheduler.weightOf(3)).toBe(1);
  });

  it('names bad options', () => {
    expect(() => new ChunkScheduler({ policy: 'random' as SchedulingPolicy })).toThrow(/policy/);
    expect(() => new ChunkScheduler({ minimumWeight: 20 })).toThrow(/minimumWeight/);
    expect(() => new ChunkScheduler({ smoothing: 0 })).toThrow(/smoothing/);
  });
});

/**
 * A cluster of 10 where 3 peers have half the upload capacity a peer needs (rule 2: relay
 * each source chunk to the 9 others within a round), and 7 have 1.5 times it. A relay that
 * cannot be sent before the monitors' play deadline (32 chunk times, B/2 with B = 64) is
 * lost, and the monitors' complaint reaches the source 32 chunk times later.
 */
function runCapacityMix(policy: SchedulingPolicy, lossTolerance?: number) {
  const peers = 10;
  const needed = (peers - 1) / peers; // sends per chunk time for one chunk per round
  const capacity = (memberId: number) => (memberId <= 3 ? 0.5 : 1.5) * needed;
  const deadline = 32;
  const scheduler = new ChunkScheduler({ policy, ...(lossTolerance ? { lossTolerance } : {}) });
  const backlog = new Map<number, number>();
  for (let memberId = 1; memberId <= peers; memberId++) {
    scheduler.add(memberId);
    backlog.set(memberId, 0);
  }
  const complaints: { due: number; memberId: number }[] = [];
  const given = new Map<number, number>();
  let lost = 0;
  const chunks = 20_000;
  for (let now = 0; now < chunks; now++) {
    for (const [memberId, sends] of backlog) {
      backlog.set(memberId, Math.max(0, sends - capacity(memberId)));
    }
    while (complaints[0] !== undefined && complaints[0].due <= now) {
      scheduler.complaint((complaints.shift() as { memberId: number }).memberId);
    }
    const memberId = scheduler.next() as number;
    given.set(memberId, (given.get(memberId) ?? 0) + 1);
    const sends = backlog.get(memberId) ?? 0;
    if (sends + (peers - 1) > capacity(memberId) * deadline) {
      lost++;
      complaints.push({ due: now + deadline, memberId });
    } else {
      backlog.set(memberId, sends + (peers - 1));
    }
  }
  const share = (memberIds: number[]) =>
    memberIds.reduce((sum, memberId) => sum + (given.get(memberId) ?? 0), 0) /
    chunks /
    memberIds.length;
  return {
    lossRatio: lost / chunks,
    weakShare: share([1, 2, 3]),
    strongShare: share([4, 5, 6, 7, 8, 9, 10]),
  };
}

describe('ACS against plain round robin', () => {
  it('gives weak peers fewer source chunks and lowers the cluster loss ratio', () => {
    const plain = runCapacityMix('round-robin');
    const adaptive = runCapacityMix('adaptive');
    const linear = runCapacityMix('adaptive', 1);
    expect(plain.weakShare).toBeCloseTo(0.1, 3);
    expect(adaptive.weakShare).toBeLessThan(0.08);
    expect(adaptive.strongShare).toBeGreaterThan(0.1);
    expect(plain.lossRatio).toBeGreaterThan(0.1);
    expect(adaptive.lossRatio).toBeLessThan(plain.lossRatio / 4);
    // A linear weight (tolerance 1) helps less: the weak peers settle losing a third.
    expect(linear.lossRatio).toBeGreaterThan(adaptive.lossRatio);
    console.info(
      `ACS figures: loss ratio ${plain.lossRatio.toFixed(4)} (round robin) -> ${adaptive.lossRatio.toFixed(4)} (ACS), ${linear.lossRatio.toFixed(4)} (ACS, linear weight); weak peer share ${plain.weakShare.toFixed(4)} -> ${adaptive.weakShare.toFixed(4)}`,
    );
  });
});
