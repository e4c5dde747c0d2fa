import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { PeerConfigError } from './errors.js';
import { REJOIN_DEFAULTS, RejoinPolicy, resolveRejoinOptions } from './rejoin-policy.js';

/** A random source that always answers `value` (the jitter's extremes). */
const constant = (value: number) => ({ next: () => value });

/** The delays of a streak of failures, until the policy gives up. */
function streak(policy: RejoinPolicy, from = 0): { delays: number[]; gaveUpAt: number } {
  const delays: number[] = [];
  let now = from;
  for (;;) {
    const decision = policy.failed(now);
    if (decision.kind === 'give-up') return { delays, gaveUpAt: now };
    delays.push(decision.at - now);
    expect(decision.attempt).toBe(policy.attempts + 1);
    now = decision.at;
    policy.attempt();
  }
}

describe('RejoinPolicy', () => {
  it('doubles from 0.5 s to a 5 s cap, with equal jitter (half fixed, half random)', () => {
    const options = resolveRejoinOptions({ timeoutMillis: 30_000 });
    // 0.25 + 0.5 + 1 + 2 = 3.75 s, then 2.5 s ten times: 28.75 s; an eleventh passes 30 s.
    expect(streak(new RejoinPolicy(options, constant(0))).delays).toEqual([
      250,
      500,
      1000,
      2000,
      ...Array.from({ length: 10 }, () => 2500),
    ]);
    expect(streak(new RejoinPolicy(options, constant(0.999_999))).delays).toEqual([
      500, 1000, 2000, 4000, 5000, 5000, 5000, 5000,
    ]);
  });

  it('gives up when the next attempt would start past the timeout, counting from the first failure', () => {
    const policy = new RejoinPolicy(resolveRejoinOptions({ timeoutMillis: 10_000 }), constant(1));
    const { delays, gaveUpAt } = streak(policy, 1_000);
    // 0.5 + 1 + 2 + 4 = 7.5 s; the next 5 s would end at 12.5 s > 10 s.
    expect(delays).toEqual([500, 1000, 2000, 4000]);
    expect(gaveUpAt).toBe(8_500);
    expect(policy.failed(8_500)).toEqual({ kind: 'give-up', attempts: 4, elapsedMillis: 7_500 });
  });

  it('starts over from the first delay once joined', () => {
    const policy = new RejoinPolicy(resolveRejoinOptions(), constant(1));
    policy.failed(0);
    policy.attempt();
    policy.failed(500);
    policy.attempt();
    policy.joined();
    expect(policy.attempts).toBe(0);
    expect(policy.since).toBeNull();
    expect(policy.failed(90_000)).toEqual({ kind: 'wait', attempt: 1, at: 90_500 });
  });

  it('never rejoins with timeoutMillis 0', () => {
    const policy = new RejoinPolicy(resolveRejoinOptions({ timeoutMillis: 0 }), constant(0));
    expect(policy.failed(5)).toEqual({ kind: 'give-up', attempts: 0, elapsedMillis: 0 });
  });

  it('is deterministic for a seed, and spreads peers that fail at the same time', () => {
    const run = (seed: number) =>
      streak(new RejoinPolicy(resolveRejoinOptions(), createRandom(seed))).delays;
    expect(run(7)).toEqual(run(7));
    const firsts = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => run(seed)[0]!);
    expect(new Set(firsts).size).toBe(8);
    for (const delay of firsts) {
      expect(delay).toBeGreaterThanOrEqual(REJOIN_DEFAULTS.minDelayMillis / 2);
      expect(delay).toBeLessThanOrEqual(REJOIN_DEFAULTS.minDelayMillis);
    }
  });

  it.each([
    [{ timeoutMillis: -1 }, 'rejoin.timeoutMillis'],
    [{ timeoutMillis: 1.5 }, 'rejoin.timeoutMillis'],
    [{ minDelayMillis: 0 }, 'rejoin.minDelayMillis'],
    [{ minDelayMillis: 6000 }, 'rejoin.minDelayMillis'],
  ])('refuses %o naming %s', (options, option) => {
    expect(() => resolveRejoinOptions(options)).toThrow(PeerConfigError);
    try {
      resolveRejoinOptions(options);
    } catch (error) {
      expect((error as PeerConfigError).option).toBe(option);
      expect((error as PeerConfigError).code).toBe('P2PSP_ERR_CONFIG');
    }
  });
});
