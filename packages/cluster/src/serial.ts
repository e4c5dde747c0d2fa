/**
 * Normalises to an unsigned 32-bit chunk number (the wire's chunk numbers are 32-bit and
 * wrap; comparisons use `chunkNumberDistance` from @p2psp/wire, RFC 1982 section 3.2).
 */
export function toChunkNumber(value: number): number {
  return value >>> 0;
}
