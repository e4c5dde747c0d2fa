import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkNumberAfter, chunkNumberDistance, nextChunkNumber } from './chunk-number.js';

const MAX = 0xffff_ffff;
const HALF = 0x8000_0000;

describe('chunk numbers: RFC 1982 serial arithmetic, SERIAL_BITS = 32', () => {
  it('nextChunkNumber wraps from 2^32 - 1 to 0', () => {
    expect(nextChunkNumber(0)).toBe(1);
    expect(nextChunkNumber(MAX - 1)).toBe(MAX);
    expect(nextChunkNumber(MAX)).toBe(0);
  });

  it('orders numbers across the wrap', () => {
    expect(chunkNumberAfter(0, MAX)).toBe(true);
    expect(chunkNumberAfter(MAX, 0)).toBe(false);
    expect(chunkNumberAfter(5, MAX - 5)).toBe(true);
    expect(chunkNumberAfter(MAX - 5, 5)).toBe(false);
    expect(chunkNumberDistance(0, MAX)).toBe(1);
    expect(chunkNumberDistance(MAX, 0)).toBe(-1);
    expect(chunkNumberDistance(5, MAX - 5)).toBe(11);
    expect(chunkNumberDistance(MAX - 5, 5)).toBe(-11);
  });

  it('follows RFC 1982 section 3.2 at the edges of the half range', () => {
    // i1 < i2 and i2 - i1 > 2^31, or i1 > i2 and i1 - i2 < 2^31.
    expect(chunkNumberAfter(HALF - 1, 0)).toBe(true);
    expect(chunkNumberDistance(HALF - 1, 0)).toBe(HALF - 1);
    expect(chunkNumberAfter(0, HALF + 1)).toBe(true);
    expect(chunkNumberDistance(0, HALF + 1)).toBe(HALF - 1);
    // Exactly 2^31 apart: undefined by the RFC; neither is after the other.
    expect(chunkNumberAfter(HALF, 0)).toBe(false);
    expect(chunkNumberAfter(0, HALF)).toBe(false);
    expect(chunkNumberDistance(HALF, 0)).toBe(-HALF);
    expect(chunkNumberDistance(0, HALF)).toBe(-HALF);
    // Equal numbers.
    expect(chunkNumberAfter(7, 7)).toBe(false);
    expect(chunkNumberDistance(7, 7)).toBe(0);
  });

  it('agrees with plain arithmetic on k steps forward, for any start (including near the wrap)', () => {
    const start = fc.oneof(
      fc.integer({ min: 0, max: MAX }),
      fc.integer({ min: MAX - 1000, max: MAX }),
    );
    fc.assert(
      fc.property(start, fc.integer({ min: 1, max: HALF - 1 }), (from, steps) => {
        const to = (from + steps) % 2 ** 32;
        expect(chunkNumberAfter(to, from)).toBe(true);
        expect(chunkNumberAfter(from, to)).toBe(false);
        expect(chunkNumberDistance(to, from)).toBe(steps);
        expect(chunkNumberDistance(from, to)).toBe(-steps);
      }),
      { numRuns: 2000 },
    );
  });

  it('walks a buffer of 256 numbers across the wrap in order', () => {
    let previous = MAX - 100;
    for (let index = 0; index < 256; index++) {
      const current = nextChunkNumber(previous);
      expect(chunkNumberAfter(current, previous)).toBe(true);
      expect(chunkNumberDistance(current, MAX - 100)).toBe(index + 1);
      previous = current;
    }
    expect(previous).toBe(155);
  });
});
