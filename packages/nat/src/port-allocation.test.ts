import { describe, expect, it } from 'vitest';
import { analysePortAllocation, sequentialStep } from './port-allocation.js';

describe('port allocation analysis', () => {
  it('step is the gcd of the differences, P2PSP style', () => {
    expect(sequentialStep([1000, 1002, 1006, 1008])).toBe(2);
    expect(sequentialStep([1000, 1003, 1009])).toBe(3);
    expect(sequentialStep([1000, 999])).toBe(0);
    expect(sequentialStep([1000, 40000])).toBe(0);
  });

  it('too few samples is unknown', () => {
    expect(
      analysePortAllocation([{ localPort: 1, mappedPort: 1, firstOfSocket: true }]).allocation,
    ).toBe('unknown');
  });
});
