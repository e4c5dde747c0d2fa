import type { Random } from './sans-io.js';

/**
 * A small seeded generator (mulberry32, public domain): fast, 32-bit state, good enough
 * for protocol choices and simulation, not for cryptography. Same seed, same sequence.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/**
 * A reconnect delay: a doubling from `initialMs` capped at `maxMs`, with equal jitter (half
 * fixed, half random), so clients retrying after one server restart spread out instead of
 * arriving together. `failures` counts the failed attempts before this one; `random` is
 * uniform in [0, 1).
 */
export function reconnectDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const capped = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
  return Math.round(capped / 2 + (random() * capped) / 2);
}
