/**
 * Chunk numbers are 32-bit unsigned and wrap around; they are compared with serial number
 * arithmetic, RFC 1982 section 3.2, with SERIAL_BITS = 32.
 *
 * Why 32 bits and not P2PSP's 16: at 1 Mbit/s with 1,024-byte chunks (~122 chunks/s) a
 * 16-bit counter wraps every ~9 minutes, and serial comparison is only defined for
 * distances below 2^15, which a large buffer (B chunks) or a long outage approaches. With
 * 32 bits the counter wraps after ~1 year at that rate and comparisons stay defined for
 * distances up to 2^31 - 1 chunks, at a cost of 2 extra bytes per chunk datagram.
 */

const HALF = 0x8000_0000; // 2^(SERIAL_BITS - 1)

/** The chunk number after `chunkNumber` (RFC 1982 section 3.1 addition of 1, mod 2^32). */
export function nextChunkNumber(chunkNumber: number): number {
  return (chunkNumber + 1) >>> 0;
}

/**
 * The signed distance `a - b` in serial arithmetic, in [-2^31, 2^31): positive when `a` is
 * after `b`. For example `chunkNumberDistance(1, 0xffff_ffff)` is 2.
 * When the two are exactly 2^31 apart the comparison is undefined (RFC 1982 section 3.2);
 * this returns -2^31 for both orders, so neither counts as after the other.
 */
export function chunkNumberDistance(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Whether `a` comes after `b` (RFC 1982 section 3.2: `s1 > s2`). False when equal and when
 * they are exactly 2^31 apart (undefined by the RFC).
 */
export function chunkNumberAfter(a: number, b: number): boolean {
  const a32 = a >>> 0;
  const b32 = b >>> 0;
  return (a32 < b32 && b32 - a32 > HALF) || (a32 > b32 && a32 - b32 < HALF);
}
