import { createRandom, encodeDatagram, type NatReport, type NatType } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { HolePunchCore, type HolePunchOptions, punchCandidates } from './hole-punch.js';
import { PUNCH_TABLE_TYPES, punchFeasibility } from './punch-feasibility.js';

/** Member 1 punching towards 192.0.2.9:5000, both behind `type`. */
function coreBetween(type: NatType, options: Partial<HolePunchOptions>): HolePunchCore {
  return new HolePunchCore({
    localNat: { type, portStep: 0, mappedEndpoint: null },
    remoteNat: { type, portStep: 0, mappedEndpoint: { address: '192.0.2.9', port: 5000 } },
    remoteEndpoints: [],
    localMemberId: 1,
    random: createRandom(1),
    ...options,
  });
}

// Punching through NAT boxes, every pair of types: tooling/netsim/test/hole-punch.test.ts.
describe('hole punching', () => {
  it('gives up with P2PSP_ERR_PUNCH_TIMEOUT within the bound when nobody answers', () => {
    const core = coreBetween('full-cone', { roundInterval: 100, timeout: 1000 });
    core.start(0);
    let sends = 0;
    let now = 0;
    for (let guard = 0; guard < 100 && !core.result; guard++) {
      for (let output = core.pollOutput(); output; output = core.pollOutput()) {
        if (output.type === 'send-datagram') sends++;
      }
      const next = core.pollTimeout();
      if (next === undefined) break;
      now = next;
      core.handleTimeout(now);
    }
    expect(core.result?.ok).toBe(false);
    if (core.result && !core.result.ok) {
      expect(core.result.error.code).toBe('P2PSP_ERR_PUNCH_TIMEOUT');
      expect(core.result.error.elapsed).toBe(1000);
    }
    expect(now).toBe(1000);
    expect(sends).toBe(10); // one candidate, rounds at 0, 100, ..., 900
  });

  it('answers hellos with acks and ignores other members and other datagrams', () => {
    const core = coreBetween('open', { remoteMemberId: 2 });
    core.start(0);
    while (core.pollOutput());
    const from = { address: '192.0.2.9', port: 5001 };
    expect(
      core.handleDatagram(encodeDatagram({ type: 'hello', memberId: 3, nonce: 7 }), from, 1),
    ).toBe(false);
    expect(core.handleDatagram(new Uint8Array([0, 1, 2]), from, 1)).toBe(false);
    expect(
      core.handleDatagram(encodeDatagram({ type: 'hello', memberId: 2, nonce: 7 }), from, 1),
    ).toBe(true);
    const ack = core.pollOutput();
    expect(ack?.type === 'send-datagram' && ack.to).toEqual(from);
    // The new source endpoint joins the candidates.
    expect(core.candidates).toContainEqual(from);
  });
});

describe('port prediction', () => {
  const report = (type: NatType, port: number, portStep = 2): NatReport => ({
    type,
    portStep,
    mappedEndpoint: { address: '198.51.100.1', port },
  });

  it('a sequential symmetric remote gets 32 predicted ports from the freshest endpoint, then the known ones', () => {
    const candidates = punchCandidates(report('symmetric-sequential', 1000), [
      { address: '198.51.100.1', port: 1010 },
      { address: '10.0.0.2', port: 4000 },
    ]);
    expect(candidates).toHaveLength(34);
    expect(candidates[0]).toEqual({ address: '198.51.100.1', port: 1012 });
    expect(candidates[31]).toEqual({ address: '198.51.100.1', port: 1010 + 32 * 2 });
    expect(candidates.slice(32)).toEqual([
      { address: '198.51.100.1', port: 1010 },
      { address: '10.0.0.2', port: 4000 },
    ]);
  });

  it('the remote port hint moves the base; ports stop at 65535', () => {
    expect(
      punchCandidates(report('symmetric-sequential', 1000, 1), [], { remotePortHint: 2000 })[0]
        ?.port,
    ).toBe(2001);
    expect(punchCandidates(report('symmetric-sequential', 65530, 1), [])).toHaveLength(6);
  });

  it('cones get their endpoints only', () => {
    expect(punchCandidates(report('port-restricted-cone', 1000), [])).toEqual([
      { address: '198.51.100.1', port: 1000 },
    ]);
  });
});

describe('the impossible-pairs table', () => {
  it('matches the derivation in the README', () => {
    const impossible = PUNCH_TABLE_TYPES.flatMap((a) =>
      PUNCH_TABLE_TYPES.filter((b) => !punchFeasibility(a, b).possible).map((b) => `${a}/${b}`),
    );
    const expected = new Set<string>();
    for (const type of PUNCH_TABLE_TYPES) {
      expected.add(`udp-blocked/${type}`);
      expected.add(`${type}/udp-blocked`);
    }
    for (const type of [
      'port-restricted-cone',
      'symmetric-preserving',
      'symmetric-sequential',
      'symmetric-random',
    ]) {
      expected.add(`symmetric-random/${type}`);
      expected.add(`${type}/symmetric-random`);
    }
    expect(new Set(impossible)).toEqual(expected);
  });
});
