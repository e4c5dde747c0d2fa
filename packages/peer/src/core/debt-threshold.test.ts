import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { DEBT_THRESHOLD_MIN_CHUNKS, debtThresholdFor, resolvePeerConfig } from './peer-config.js';

const base = { source: { address: '127.0.0.1', port: 4552 }, random: createRandom(1) };

describe('rule 7 threshold in stream time', () => {
  it('is P2PSP 32 chunks at 128 kbit/s and the same 2,048 ms at 2 Mbit/s', () => {
    const config = resolvePeerConfig(base);
    // 1,024-byte chunks: 64 ms at 128 kbit/s, 4.096 ms at 2 Mbit/s.
    expect(debtThresholdFor(config, 64)).toBe(32);
    expect(debtThresholdFor(config, 4.096)).toBe(500);
  });

  it('never falls below 32 chunks at low bitrates', () => {
    const config = resolvePeerConfig(base);
    expect(debtThresholdFor(config, 256)).toBe(DEBT_THRESHOLD_MIN_CHUNKS);
  });

  it('takes debtThresholdMillis, or debtThreshold in chunks as is, not both', () => {
    expect(debtThresholdFor(resolvePeerConfig({ ...base, debtThresholdMillis: 4096 }), 4.096)).toBe(
      1000,
    );
    expect(debtThresholdFor(resolvePeerConfig({ ...base, debtThreshold: 3 }), 4.096)).toBe(3);
    expect(() =>
      resolvePeerConfig({ ...base, debtThreshold: 3, debtThresholdMillis: 100 }),
    ).toThrow(/debtThresholdMillis and debtThreshold both given/);
    expect(() => resolvePeerConfig({ ...base, debtThresholdMillis: 0 })).toThrow(
      /debtThresholdMillis must be an integer/,
    );
  });
});
