import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oggCrc32 } from './crc32.js';
import { referenceOggCrc } from './testing.js';

describe('oggCrc32', () => {
  it('is the unreflected 0x04C11DB7 CRC with init 0 (RFC 3533 section 6)', () => {
    // One set bit in the first byte's top position yields the polynomial itself after 8 shifts.
    expect(oggCrc32(new Uint8Array([0x01]))).toBe(0x04c11db7);
    expect(oggCrc32(new Uint8Array(0))).toBe(0);
  });

  it('matches a bitwise reference and can be continued across ranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const split = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(oggCrc32(bytes)).toBe(referenceOggCrc(bytes));
        expect(oggCrc32(bytes, split, bytes.length, oggCrc32(bytes, 0, split))).toBe(
          referenceOggCrc(bytes),
        );
      }),
    );
  });
});
