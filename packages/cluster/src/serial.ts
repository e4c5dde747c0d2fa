/**
 * 32-bit serial number arithmetic for chunk numbers (RFC 1982 section 3.2): `a` is after `b`
 * when the forward distance from `b` to `a` is below 2^31. Chunk numbers wrap around, so
 * plain `<` would misorder them near the wrap.
 */
const HALF = 2 ** 31;

/** Forward distance from `from` to `to`, in [0, 2^32). */
export function forwardDistance(from: number, to: number): number {
  return (to - from) >>> 0;
}

/** True when `a` comes strictly after `b` in serial order. */
export function isAfter(a: number, b: number): boolean {
  const distance = forwardDistance(b, a);
  return distance !== 0 && distance < HALF;
}

/** Normalises to an unsigned 32-bit chunk number. */
export function toChunkNumber(value: number): number {
  return value >>> 0;
}
