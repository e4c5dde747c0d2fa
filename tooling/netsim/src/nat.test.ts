import type { KnownNatBehaviour, NatBoxOptions, NatBoxType } from '@p2psp/nat/testing';
import type { Endpoint } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { ProbeCore } from '../test/helpers/test-cores.js';
import { type SimulatedNode, Simulator } from './simulator.js';

/**
 * One client behind a NAT and three public servers: A and A' share an address (ports 4000
 * and 5000), B has another address. What the servers see tells the mapping behaviour;
 * which strangers get through tells the filtering behaviour (RFC 4787 sections 4.1, 5).
 */
function setup(options: Partial<NatBoxOptions> & { type?: NatBoxType }) {
  const sim = new Simulator({ seed: 99 });
  const nat = sim.addNat(options);
  const clientCore = new ProbeCore();
  const client = sim.addNode({
    name: 'client',
    nat,
    createCore: () => clientCore,
    udpPort: 4000,
    link: { latencyMs: 1 },
  });
  const cores = { a: new ProbeCore(), aOtherPort: new ProbeCore(), b: new ProbeCore() };
  const a = sim.addNode({ name: 'a', createCore: () => cores.a, udpPort: 4000 });
  const aOtherPort = sim.addNode({
    name: 'a-other-port',
    address: a.address,
    createCore: () => cores.aOtherPort,
    udpPort: 5000,
  });
  const b = sim.addNode({ name: 'b', createCore: () => cores.b, udpPort: 4000 });
  const send = (fromNode: SimulatedNode, core: ProbeCore, to: Endpoint, at: number): void => {
    sim.schedule(at, () => {
      core.send(to, 0, sim.now);
      sim.wake(fromNode);
    });
  };
  return { sim, nat, client, clientCore, a, aOtherPort, b, cores, send };
}

describe('NAT mapping behaviour', () => {
  const cases: [KnownNatBehaviour, boolean, boolean][] = [
    // [mapping, same public endpoint towards another port of A, towards B]
    ['endpoint-independent', true, true],
    ['address-dependent', true, false],
    ['address-and-port-dependent', false, false],
  ];
  for (const [mapping, samePort, sameAddress] of cases) {
    it(`${mapping}: what servers see`, () => {
      const t = setup({ mapping, filtering: 'endpoint-independent' });
      t.send(t.client, t.clientCore, t.a.endpoint, 0);
      t.send(t.client, t.clientCore, t.aOtherPort.endpoint, 10);
      t.send(t.client, t.clientCore, t.b.endpoint, 20);
      t.sim.runUntil(100);
      const seenByA = t.cores.a.received[0]!.from;
      const seenByAOtherPort = t.cores.aOtherPort.received[0]!.from;
      const seenByB = t.cores.b.received[0]!.from;
      expect(seenByA.address).toBe(t.nat.publicAddress);
      expect(seenByA.port === seenByAOtherPort.port).toBe(samePort);
      expect(seenByA.port === seenByB.port).toBe(sameAddress);
    });
  }
});

describe('NAT filtering behaviour', () => {
  const cases: [KnownNatBehaviour, boolean, boolean][] = [
    // [filtering, A' (same address, other port) gets in, B (other address) gets in]
    ['endpoint-independent', true, true],
    ['address-dependent', true, false],
    ['address-and-port-dependent', false, false],
  ];
  for (const [filtering, fromOtherPort, fromOtherAddress] of cases) {
    it(`${filtering}: which strangers reach the client`, () => {
      const t = setup({ mapping: 'endpoint-independent', filtering });
      t.send(t.client, t.clientCore, t.a.endpoint, 0);
      t.sim.runUntil(50);
      const mapped = t.cores.a.received[0]!.from;
      t.send(t.a, t.cores.a, mapped, 60);
      t.send(t.aOtherPort, t.cores.aOtherPort, mapped, 70);
      t.send(t.b, t.cores.b, mapped, 80);
      t.sim.runUntil(200);
      const senders = t.clientCore.received.map(
        (datagram) => datagram.from.port + datagram.from.address,
      );
      expect(senders).toContain(t.a.endpoint.port + t.a.address);
      expect(senders.includes(t.aOtherPort.endpoint.port + t.a.address)).toBe(fromOtherPort);
      expect(senders.includes(t.b.endpoint.port + t.b.address)).toBe(fromOtherAddress);
      expect(t.nat.stats.inboundFiltered).toBe(3 - senders.length);
    });
  }

  it('unsolicited datagrams (no mapping) never get in, even through a full cone', () => {
    const t = setup({ type: 'full-cone' });
    t.send(t.b, t.cores.b, { address: t.nat.publicAddress, port: 4000 }, 0);
    t.sim.runUntil(100);
    expect(t.clientCore.received).toHaveLength(0);
    expect(t.client.statistics.datagramsReceived).toBe(0);
  });

  it('mappings expire after their idle lifetime (RFC 4787 REQ-5)', () => {
    const t = setup({ type: 'full-cone', mappingLifetimeMs: 1000 });
    t.send(t.client, t.clientCore, t.a.endpoint, 0);
    t.sim.runUntil(50);
    const mapped = t.cores.a.received[0]!.from;
    t.send(t.a, t.cores.a, mapped, 500);
    t.send(t.a, t.cores.a, mapped, 1500);
    t.sim.runUntil(2000);
    expect(t.clientCore.received.map((datagram) => datagram.receivedAt)).toEqual([501]);
    expect(t.nat.mappingCount).toBe(0);
  });
});

describe('NAT port allocation', () => {
  it('preserving keeps the internal port', () => {
    const t = setup({ type: 'symmetric-preserving' });
    t.send(t.client, t.clientCore, t.a.endpoint, 0);
    t.send(t.client, t.clientCore, t.b.endpoint, 1);
    t.sim.runUntil(100);
    expect(t.cores.a.received[0]!.from.port).toBe(4000);
    // The second symmetric mapping cannot reuse 4000: it falls back to the next free port.
    expect(t.cores.b.received[0]!.from.port).not.toBe(4000);
  });

  it('sequential allocates with the configured step (what NTS port prediction relies on)', () => {
    const t = setup({ type: 'symmetric-sequential', portStep: 3, firstPort: 30000 });
    t.send(t.client, t.clientCore, t.a.endpoint, 0);
    t.send(t.client, t.clientCore, t.aOtherPort.endpoint, 1);
    t.send(t.client, t.clientCore, t.b.endpoint, 2);
    t.sim.runUntil(100);
    const ports = [t.cores.a, t.cores.aOtherPort, t.cores.b].map(
      (core) => core.received[0]!.from.port,
    );
    expect(ports).toEqual([30000, 30003, 30006]);
  });

  it('random allocation is not sequential', () => {
    const t = setup({ type: 'symmetric-random' });
    t.send(t.client, t.clientCore, t.a.endpoint, 0);
    t.send(t.client, t.clientCore, t.aOtherPort.endpoint, 1);
    t.send(t.client, t.clientCore, t.b.endpoint, 2);
    t.sim.runUntil(100);
    const ports = [t.cores.a, t.cores.aOtherPort, t.cores.b].map(
      (core) => core.received[0]!.from.port,
    );
    expect(new Set(ports).size).toBe(3);
    expect(Math.abs(ports[1]! - ports[0]!)).not.toBe(Math.abs(ports[2]! - ports[1]!));
  });
});

describe('hole punching between two NATs', () => {
  function punch(
    typeA: 'port-restricted-cone' | 'symmetric-random',
    typeB: 'port-restricted-cone' | 'symmetric-random',
  ): boolean {
    const sim = new Simulator({ seed: 5 });
    const natA = sim.addNat({ type: typeA, allocation: 'random' });
    const natB = sim.addNat({ type: typeB, allocation: 'random' });
    const coreA = new ProbeCore();
    const coreB = new ProbeCore();
    const nodeA = sim.addNode({
      name: 'a',
      nat: natA,
      createCore: () => coreA,
      link: { latencyMs: 10 },
    });
    const nodeB = sim.addNode({
      name: 'b',
      nat: natB,
      createCore: () => coreB,
      link: { latencyMs: 10 },
    });
    // A rendezvous server tells each the other's public endpoint, as seen by the server.
    const serverCore = new ProbeCore();
    const server = sim.addNode({ name: 'server', createCore: () => serverCore });
    for (const [node, core] of [
      [nodeA, coreA],
      [nodeB, coreB],
    ] as const) {
      sim.schedule(0, () => {
        core.send(server.endpoint, 0, sim.now);
        sim.wake(node);
      });
    }
    sim.runUntil(100);
    const publicA = serverCore.received.find(
      (datagram) => datagram.from.address === natA.publicAddress,
    )!.from;
    const publicB = serverCore.received.find(
      (datagram) => datagram.from.address === natB.publicAddress,
    )!.from;
    // Both send hellos to each other three times, 50 ms apart.
    for (let round = 0; round < 3; round += 1) {
      sim.schedule(200 + 50 * round, () => {
        coreA.send(publicB, round, sim.now);
        coreB.send(publicA, round, sim.now);
        sim.wake(nodeA);
        sim.wake(nodeB);
      });
    }
    sim.runUntil(1000);
    return coreA.received.length > 0 && coreB.received.length > 0;
  }

  it('port-restricted cone to port-restricted cone succeeds', () => {
    expect(punch('port-restricted-cone', 'port-restricted-cone')).toBe(true);
  });

  it('symmetric (random ports) to port-restricted cone fails, as P2PSP measured', () => {
    expect(punch('symmetric-random', 'port-restricted-cone')).toBe(false);
  });
});
