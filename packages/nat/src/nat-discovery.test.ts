import { describe, expect, it } from 'vitest';
import {
  FAKE_STUN_ALTERNATE_ADDRESS,
  FAKE_STUN_ALTERNATE_PORT,
  runFakeDiscovery,
} from './fake-discovery.js';
import { FAKE_NAT_PRESETS } from './fake-nat.js';
import { analysePortAllocation, sequentialStep } from './port-allocation.js';

describe('NAT discovery through a fake NAT (RFC 5780 §4.3, §4.4)', () => {
  it.each(Object.entries(FAKE_NAT_PRESETS))('classifies %s', (type, behaviour) => {
    const { result } = runFakeDiscovery({ nat: behaviour });
    expect(result?.report.type).toBe(type);
    expect(result?.mapping).toBe(behaviour.mapping);
    expect(result?.filtering).toBe(behaviour.filtering);
    expect(result?.natPresent).toBe(true);
    expect(result?.report.mappedEndpoint?.address).toBe('198.51.100.1');
    if (type === 'symmetric-sequential') expect(result?.report.portStep).toBe(1);
    if (!type.startsWith('symmetric')) expect(result?.report.portStep).toBe(0);
  });

  it('measures a sequential step of 3 (gcd of the differences)', () => {
    const { result } = runFakeDiscovery({
      nat: { ...FAKE_NAT_PRESETS['symmetric-sequential'], step: 3 },
    });
    expect(result?.report).toMatchObject({ type: 'symmetric-sequential', portStep: 3 });
    expect(result?.allocation).toBe('sequential');
  });

  it('address-dependent mapping is symmetric too', () => {
    const { result } = runFakeDiscovery({
      nat: { mapping: 'address-dependent', filtering: 'address-dependent', allocation: 'random' },
    });
    expect(result?.mapping).toBe('address-dependent');
    expect(result?.report.type).toBe('symmetric-random');
  });

  it('a host without NAT is open internet', () => {
    const { result } = runFakeDiscovery({ nat: null });
    expect(result?.report.type).toBe('open');
    expect(result?.natPresent).toBe(false);
    expect(result?.otherAddress).toEqual({
      address: FAKE_STUN_ALTERNATE_ADDRESS,
      port: FAKE_STUN_ALTERNATE_PORT,
    });
  });

  it('no answer at all is UDP blocked, after retransmitting', () => {
    const { result } = runFakeDiscovery({
      nat: FAKE_NAT_PRESETS['full-cone'],
      prepare: (network) => network.dropWhere(() => true, Number.POSITIVE_INFINITY),
    });
    expect(result?.report.type).toBe('udp-blocked');
    // Two attempts of Rc = 4 requests each (the discovery defaults).
    expect(result?.requestsSent).toBe(8);
  });

  it('regression: one lost answer to the change-address test does not turn a full cone into a restricted one', () => {
    const { result, network } = runFakeDiscovery({
      nat: FAKE_NAT_PRESETS['full-cone'],
      prepare: (network) =>
        network.dropWhere((packet) => packet.publicFrom.address === FAKE_STUN_ALTERNATE_ADDRESS, 1),
    });
    expect(network.dropped).toBeGreaterThanOrEqual(1);
    expect(result?.report.type).toBe('full-cone');
  });

  it('a whole lost transaction (every retransmission) is retried before reading it as filtering', () => {
    const { result } = runFakeDiscovery({
      nat: FAKE_NAT_PRESETS['full-cone'],
      prepare: (network) =>
        network.dropWhere((packet) => packet.publicFrom.address === FAKE_STUN_ALTERNATE_ADDRESS, 4),
    });
    expect(result?.report.type).toBe('full-cone');
    expect(result?.filteringTests.changeAddressAndPort).toEqual({ attempts: 2, answered: true });
  });

  it('a lost mapping probe is retried and the NAT still reads as sequential', () => {
    const { result } = runFakeDiscovery({
      nat: FAKE_NAT_PRESETS['symmetric-sequential'],
      prepare: (network) =>
        network.dropWhere((packet) => packet.to.port === FAKE_STUN_ALTERNATE_PORT, 2),
    });
    expect(result?.report.type).toBe('symmetric-sequential');
  });

  it('is deterministic for a seed', () => {
    const first = runFakeDiscovery({ nat: FAKE_NAT_PRESETS['symmetric-random'], seed: 7 });
    const second = runFakeDiscovery({ nat: FAKE_NAT_PRESETS['symmetric-random'], seed: 7 });
    expect(first.result).toEqual(second.result);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'symmetric-random never reads as sequential (seed %i)',
    (seed) => {
      const { result } = runFakeDiscovery({ nat: FAKE_NAT_PRESETS['symmetric-random'], seed });
      expect(result?.report.type).toBe('symmetric-random');
    },
  );
});

describe('port allocation analysis', () => {
  it('step is the gcd of the differences, P2PSP style', () => {
    expect(sequentialStep([1000, 1002, 1006, 1008])).toBe(2);
    expect(sequentialStep([1000, 1003, 1009])).toBe(3);
    expect(sequentialStep([1000, 999])).toBe(0);
    expect(sequentialStep([1000, 40000])).toBe(0);
  });

  it('too few samples is unknown', () => {
    expect(
      analysePortAllocation([{ localPort: 1, mappedPort: 1, firstOfSocket: true }]).allocation,
    ).toBe('unknown');
  });
});
