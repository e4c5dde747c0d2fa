import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkDestinations } from './chunk-destinations.js';

describe('ChunkDestinations (rule 1: the destination of the last B chunks)', () => {
  it('answers for the last B chunk numbers and for nothing older or newer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.oneof(
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.integer({ min: 2 ** 32 - 400, max: 2 ** 32 - 1 }),
        ),
        fc.integer({ min: 1, max: 300 }),
        (capacity, start, count) => {
          const destinations = new ChunkDestinations(capacity);
          for (let offset = 0; offset < count; offset++) {
            destinations.record(start + offset, 1000 + offset);
          }
          for (let offset = -2; offset < count + 2; offset++) {
            const expected =
              offset >= 0 && offset < count && offset >= count - capacity
                ? 1000 + offset
                : undefined;
            // Across the 32-bit wrap a B that does not divide 2^32 shifts the slots: a recent
            // chunk may lose its slot early, or an older one keep it a while. Either way the
            // stored full number means an answer is never someone else's chunk.
            const answer = destinations.destinationOf((start + offset) >>> 0);
            const crossesWrap = start + count + 2 > 2 ** 32;
            const trueDestination = offset >= 0 && offset < count ? 1000 + offset : undefined;
            if (answer === expected) continue;
            if (!crossesWrap || (answer !== undefined && answer !== trueDestination)) return false;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('claims each chunk once: first, then duplicate; unknown chunks are never charged', () => {
    const destinations = new ChunkDestinations(4);
    destinations.record(10, 7);
    expect(destinations.claim(10)).toEqual({ kind: 'first', memberId: 7 });
    expect(destinations.claim(10)).toEqual({ kind: 'duplicate', memberId: 7 });
    expect(destinations.claim(6)).toEqual({ kind: 'unknown' });
    destinations.record(14, 8); // same slot as 10
    expect(destinations.claim(10)).toEqual({ kind: 'unknown' });
    expect(destinations.claim(14)).toEqual({ kind: 'first', memberId: 8 });
    expect(() => new ChunkDestinations(0)).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_INVALID_OPTION' }),
    );
  });
});
