import { describe, expect, it } from 'vitest';
import { createRandom, reconnectDelay } from './random.js';

describe('createRandom', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    const take = (seed: number) => Array.from({ length: 5 }, createRandom(seed).next);
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
  });

  it('stays in [0, 1) with a mean near 1/2', () => {
    const random = createRandom(1);
    let sum = 0;
    for (let index = 0; index < 10_000; index++) {
      const value = random.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      sum += value;
    }
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
  });
});

describe('reconnectDelay', () => {
  it('doubles from the first delay up to the cap, with half of it random', () => {
    expect(reconnectDelay(0, 500, 5000, () => 0)).toBe(250);
    expect(reconnectDelay(0, 500, 5000, () => 0.999_999)).toBe(500);
    expect(reconnectDelay(3, 500, 5000, () => 0.5)).toBe(3000);
    expect(reconnectDelay(50, 500, 5000, () => 0)).toBe(2500);
    expect(reconnectDelay(50, 500, 5000, () => 0.999_999)).toBe(5000);
  });
});
