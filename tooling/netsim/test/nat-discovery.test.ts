import { NAT_BOX_PRESETS } from '@p2psp/nat/testing';
import { describe, expect, it } from 'vitest';
import {
  runDiscovery,
  STUN_ALTERNATE_ADDRESS,
  STUN_ALTERNATE_PORT,
} from './helpers/nat-scenarios.js';

/** @p2psp/nat's RFC 5780 detector against its own server, through the simulator's NAT boxes. */
describe('NAT discovery through a simulated NAT (RFC 5780 §4.3, §4.4)', () => {
  it.each(Object.entries(NAT_BOX_PRESETS))('classifies %s', (type, behaviour) => {
    const { result } = runDiscovery({ nat: behaviour });
    expect(result?.report.type).toBe(type);
    expect(result?.mapping).toBe(behaviour.mapping);
    expect(result?.filtering).toBe(behaviour.filtering);
    expect(result?.natPresent).toBe(true);
    expect(result?.report.mappedEndpoint?.address).toBe('198.51.100.1');
    if (type === 'symmetric-sequential') expect(result?.report.portStep).toBe(1);
    if (!type.startsWith('symmetric')) expect(result?.report.portStep).toBe(0);
  });

  it('measures a sequential step of 3 (gcd of the differences)', () => {
    const { result } = runDiscovery({ nat: { type: 'symmetric-sequential', portStep: 3 } });
    expect(result?.report).toMatchObject({ type: 'symmetric-sequential', portStep: 3 });
    expect(result?.allocation).toBe('sequential');
  });

  it('address-dependent mapping is symmetric too', () => {
    const { result } = runDiscovery({
      nat: { mapping: 'address-dependent', filtering: 'address-dependent', allocation: 'random' },
    });
    expect(result?.mapping).toBe('address-dependent');
    expect(result?.report.type).toBe('symmetric-random');
  });

  it('a host without NAT is open internet', () => {
    const { result } = runDiscovery({ nat: null });
    expect(result?.report.type).toBe('open');
    expect(result?.natPresent).toBe(false);
    expect(result?.otherAddress).toEqual({
      address: STUN_ALTERNATE_ADDRESS,
      port: STUN_ALTERNATE_PORT,
    });
  });

  it('no answer at all is UDP blocked, after retransmitting', () => {
    const { result } = runDiscovery({
      nat: { type: 'full-cone' },
      drop: { count: Number.POSITIVE_INFINITY, matches: () => true },
    });
    expect(result?.report.type).toBe('udp-blocked');
    // Two attempts of Rc = 4 requests each (the discovery defaults).
    expect(result?.requestsSent).toBe(8);
  });

  it('regression: one lost answer to the change-address test does not turn a full cone into a restricted one', () => {
    const { result, dropped } = runDiscovery({
      nat: { type: 'full-cone' },
      drop: { count: 1, matches: (from) => from.address === STUN_ALTERNATE_ADDRESS },
    });
    expect(dropped).toBeGreaterThanOrEqual(1);
    expect(result?.report.type).toBe('full-cone');
  });

  it('a whole lost transaction (every retransmission) is retried before reading it as filtering', () => {
    const { result } = runDiscovery({
      nat: { type: 'full-cone' },
      drop: { count: 4, matches: (from) => from.address === STUN_ALTERNATE_ADDRESS },
    });
    expect(result?.report.type).toBe('full-cone');
    expect(result?.filteringTests.changeAddressAndPort).toEqual({ attempts: 2, answered: true });
  });

  it('a lost mapping probe is retried and the NAT still reads as sequential', () => {
    const { result } = runDiscovery({
      nat: { type: 'symmetric-sequential' },
      drop: { count: 2, matches: (_from, to) => to.port === STUN_ALTERNATE_PORT },
    });
    expect(result?.report.type).toBe('symmetric-sequential');
  });

  it('is deterministic for a seed', () => {
    const first = runDiscovery({ nat: { type: 'symmetric-random' }, seed: 7 });
    const second = runDiscovery({ nat: { type: 'symmetric-random' }, seed: 7 });
    expect(first.result).toEqual(second.result);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'symmetric-random never reads as sequential (seed %i)',
    (seed) => {
      const { result } = runDiscovery({ nat: { type: 'symmetric-random' }, seed });
      expect(result?.report.type).toBe('symmetric-random');
    },
  );
});
