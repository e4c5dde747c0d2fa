import { describe, expect, it } from 'vitest';
import { ProbeCore, TcpCore } from '../test/helpers/test-cores.js';
import { type NodeOptions, type SimulatedNode, Simulator } from './simulator.js';

function probeNode(
  sim: Simulator,
  name: string,
  core: ProbeCore,
  options: Partial<NodeOptions> = {},
): SimulatedNode {
  return sim.addNode({ name, createCore: () => core, ...options });
}

describe('Simulator: UDP', () => {
  it('delivers after uplink + downlink latency, exactly, without jitter', () => {
    const sim = new Simulator({ seed: 1 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore, { link: { latencyMs: 7 } });
    probeNode(
      sim,
      'sender',
      new ProbeCore([{ target: receiver.endpoint, count: 10, intervalMs: 100, startAt: 5 }]),
      { link: { latencyMs: 3 } },
    );
    sim.runUntil(2000);
    expect(receiverCore.received).toHaveLength(10);
    for (const datagram of receiverCore.received) {
      expect(datagram.receivedAt - datagram.sentAt).toBe(10);
    }
  });

  it('jitter spreads delays uniformly over [latency, latency + jitter)', () => {
    const sim = new Simulator({ seed: 2 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore);
    probeNode(
      sim,
      'sender',
      new ProbeCore([{ target: receiver.endpoint, count: 5000, intervalMs: 1 }]),
      { uplink: { latencyMs: 20, jitterMs: 10 } },
    );
    sim.runUntil(10_000);
    const delays = receiverCore.received.map((datagram) => datagram.receivedAt - datagram.sentAt);
    expect(delays).toHaveLength(5000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThan(30);
    const mean = delays.reduce((sum, delay) => sum + delay, 0) / delays.length;
    expect(Math.abs(mean - 25)).toBeLessThan((4 * 10) / Math.sqrt(12) / Math.sqrt(5000));
    // Jitter larger than the send interval reorders datagrams, as UDP may.
    const sequences = receiverCore.received.map((datagram) => datagram.sequence);
    expect(sequences).not.toEqual([...sequences].sort((a, b) => a - b));
  });

  it('random loss on uplink and downlink compounds: 1 - (1 - p)^2', () => {
    const sim = new Simulator({ seed: 3 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore, { downlink: { loss: 0.1 } });
    const sender = probeNode(
      sim,
      'sender',
      new ProbeCore([{ target: receiver.endpoint, count: 20_000, intervalMs: 1 }]),
      { uplink: { loss: 0.1 } },
    );
    sim.runUntil(30_000);
    const expected = 1 - 0.9 * 0.9;
    const observed = 1 - receiverCore.received.length / 20_000;
    const sigma = Math.sqrt((expected * (1 - expected)) / 20_000);
    expect(Math.abs(observed - expected)).toBeLessThan(4 * sigma);
    expect(sender.statistics.drops.loss).toBe(20_000 - receiverCore.received.length);
  });

  it('upload capacity paces datagrams and the queue limit drops the excess', () => {
    const sim = new Simulator({ seed: 4 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore);
    // 972 payload + 28 header = 1000 bytes on the wire; 10,000 B/s -> one per 100 ms.
    const sender = probeNode(
      sim,
      'sender',
      new ProbeCore([
        { target: receiver.endpoint, count: 20, intervalMs: 1000, perTick: 20, size: 972 },
      ]),
      { uploadBytesPerSecond: 10_000, uploadQueueBytes: 5000 },
    );
    sim.runUntil(10_000);
    // Bytes ahead of a datagram must fit in the 5,000-byte queue: 5 accepted, 15 dropped.
    expect(receiverCore.received).toHaveLength(5);
    expect(sender.statistics.drops['upload-queue-full']).toBe(15);
    const arrivals = receiverCore.received.map((datagram) => datagram.receivedAt);
    expect(arrivals).toEqual([100, 200, 300, 400, 500]);
  });

  it('a sender offered twice its capacity delivers at its capacity', () => {
    const sim = new Simulator({ seed: 5 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore);
    // Offered: 1000 bytes every 50 ms = 20,000 B/s for 10 s into a 10,000 B/s uplink.
    probeNode(
      sim,
      'sender',
      new ProbeCore([{ target: receiver.endpoint, count: 200, intervalMs: 50, size: 972 }]),
      { uploadBytesPerSecond: 10_000, uploadQueueBytes: 20_000 },
    );
    sim.runUntil(10_000);
    const delivered = receiverCore.received.length;
    // 10 s at 10,000 B/s is 100 datagrams of 1,000 wire bytes (give or take the one in flight).
    expect(delivered).toBeGreaterThanOrEqual(99);
    expect(delivered).toBeLessThanOrEqual(100);
  });

  it('the node model drops what a free rider would relay, the core never knows', () => {
    const sim = new Simulator({ seed: 6 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore);
    const sender = probeNode(
      sim,
      'free-rider',
      new ProbeCore([{ target: receiver.endpoint, count: 50, intervalMs: 10 }]),
      { dropOutgoing: () => true },
    );
    sim.runUntil(1000);
    expect(receiverCore.received).toHaveLength(0);
    expect(sender.statistics.drops['node-model']).toBe(50);
  });

  it('datagrams to a crashed node are dropped and counted', () => {
    const sim = new Simulator({ seed: 7 });
    const receiverCore = new ProbeCore();
    const receiver = probeNode(sim, 'receiver', receiverCore, { link: { latencyMs: 5 } });
    probeNode(
      sim,
      'sender',
      new ProbeCore([{ target: receiver.endpoint, count: 10, intervalMs: 100 }]),
    );
    sim.schedule(450, () => sim.crash(receiver));
    sim.runUntil(2000);
    expect(receiverCore.received).toHaveLength(5);
  });
});

describe('Simulator: TCP', () => {
  it('opens, carries bytes in order, closes', () => {
    const sim = new Simulator({ seed: 8 });
    const serverCore = new TcpCore(true);
    const server = sim.addNode({
      name: 'server',
      createCore: () => serverCore,
      tcpListenPort: 7000,
      link: { latencyMs: 10 },
    });
    const clientCore = new TcpCore();
    const client = sim.addNode({
      name: 'client',
      createCore: () => clientCore,
      link: { latencyMs: 5 },
    });
    let connection = 0;
    sim.schedule(100, () => {
      connection = clientCore.connect({ address: server.address, port: 7000 });
      clientCore.write(connection, 'one,');
      clientCore.write(connection, 'two,');
      sim.wake(client);
    });
    sim.schedule(500, () => {
      clientCore.close(connection);
      sim.wake(client);
    });
    sim.runUntil(1000);
    // SYN after one path delay (15 ms), SYN-ACK after two.
    expect(serverCore.events[0]).toMatchObject({ type: 'open', at: 115, remote: client.endpoint });
    expect(clientCore.events[0]).toMatchObject({ type: 'open', at: 130 });
    const serverText = serverCore.events
      .filter((event) => event.type === 'data')
      .map((event) => event.text)
      .join('');
    expect(serverText).toBe('one,two,');
    const echoed = clientCore.events
      .filter((event) => event.type === 'data')
      .map((event) => event.text)
      .join('');
    expect(echoed).toBe('one,two,');
    expect(serverCore.events.at(-1)).toMatchObject({ type: 'closed', at: 515 });
  });

  it('refuses a connection nobody listens to', () => {
    const sim = new Simulator({ seed: 9 });
    const server = sim.addNode({
      name: 'server',
      createCore: () => new TcpCore(),
      link: { latencyMs: 10 },
    });
    const clientCore = new TcpCore();
    const client = sim.addNode({ name: 'client', createCore: () => clientCore });
    clientCore.connect({ address: server.address, port: 7000 });
    sim.wake(client);
    sim.runUntil(1000);
    expect(clientCore.events).toEqual([
      { type: 'closed', connection: -1, at: 20, text: 'connection refused' },
    ]);
  });

  it('a process crash resets the connection; a host crash is silent', () => {
    for (const crashMode of ['process', 'host'] as const) {
      const sim = new Simulator({ seed: 10, crashMode });
      const serverCore = new TcpCore();
      const server = sim.addNode({
        name: 'server',
        createCore: () => serverCore,
        tcpListenPort: 7000,
      });
      const clientCore = new TcpCore();
      const client = sim.addNode({
        name: 'client',
        createCore: () => clientCore,
        link: { latencyMs: 4 },
      });
      clientCore.connect({ address: server.address, port: 7000 });
      sim.wake(client);
      sim.schedule(100, () => sim.crash(client));
      sim.runUntil(1000);
      const closed = serverCore.events.filter((event) => event.type === 'closed');
      expect(closed).toHaveLength(crashMode === 'process' ? 1 : 0);
    }
  });
});

describe('Simulator: determinism', () => {
  function run(seed: number): string {
    const sim = new Simulator({ seed, traceDatagrams: true });
    const nat = sim.addNat({ type: 'symmetric-random' });
    const echoCore = new ProbeCore([], true);
    const echo = sim.addNode({
      name: 'echo',
      createCore: () => echoCore,
      link: { latencyMs: 5, jitterMs: 20, loss: 0.1 },
    });
    for (let index = 0; index < 5; index += 1) {
      sim.addNode({
        name: `client-${index}`,
        nat: index % 2 === 0 ? nat : null,
        createCore: () =>
          new ProbeCore([{ target: echo.endpoint, count: 200, intervalMs: 3 + index }]),
        link: {
          latencyMs: 2,
          jitterMs: 5,
          burst: { goodToBad: 0.05, badToGood: 0.3, lossInGood: 0, lossInBad: 0.8 },
        },
        uploadBytesPerSecond: 4000,
        uploadQueueBytes: 400,
      });
    }
    sim.runUntil(5000);
    return sim.traceDigest();
  }

  it('same seed, same trace hash; another seed, another hash', () => {
    const first = run(42);
    expect(run(42)).toBe(first);
    expect(run(43)).not.toBe(first);
  });
});

describe('Simulator: paths, LANs and hairpinning', () => {
  it('setPath overrides latency and loss for one direction of one pair', () => {
    const sim = new Simulator({ seed: 21 });
    const receiverCore = new ProbeCore();
    const receiver = sim.addNode({
      name: 'receiver',
      createCore: () => receiverCore,
      link: { latencyMs: 50 },
    });
    const sender = sim.addNode({
      name: 'sender',
      createCore: () => new ProbeCore([{ target: receiver.endpoint, count: 2000, intervalMs: 1 }]),
      link: { latencyMs: 50 },
    });
    sim.setPath(sender, receiver, { latencyMs: 3, loss: 0.5 });
    sim.runUntil(5000);
    for (const datagram of receiverCore.received)
      expect(datagram.receivedAt - datagram.sentAt).toBe(3);
    const delivered = receiverCore.received.length / 2000;
    expect(Math.abs(delivered - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / 2000));
  });

  it('hosts behind one NAT reach each other directly, and through the public address by hairpinning', () => {
    const sim = new Simulator({ seed: 22 });
    const nat = sim.addNat({ type: 'full-cone' });
    const aCore = new ProbeCore();
    const bCore = new ProbeCore();
    const a = sim.addNode({ name: 'a', nat, createCore: () => aCore, udpPort: 5000 });
    const b = sim.addNode({ name: 'b', nat, createCore: () => bCore, udpPort: 6000 });
    const serverCore = new ProbeCore();
    const server = sim.addNode({ name: 'server', createCore: () => serverCore });
    sim.schedule(0, () => {
      aCore.send(b.endpoint, 1, sim.now); // LAN: private address, no translation.
      bCore.send(server.endpoint, 2, sim.now); // Opens b's mapping.
      sim.wake(a);
      sim.wake(b);
    });
    sim.runUntil(100);
    expect(bCore.received[0]!.from).toEqual(a.endpoint);
    const bPublic = serverCore.received[0]!.from;
    expect(bPublic.address).toBe(nat.publicAddress);
    sim.schedule(200, () => {
      aCore.send(bPublic, 3, sim.now); // Hairpin: out to the NAT's public address and back in.
      sim.wake(a);
    });
    sim.runUntil(300);
    const hairpinned = bCore.received.find((datagram) => datagram.sequence === 3)!;
    expect(hairpinned.from.address).toBe(nat.publicAddress);
  });

  it('TCP from behind a NAT shows the NAT public address to the listener', () => {
    const sim = new Simulator({ seed: 23 });
    const nat = sim.addNat({ type: 'symmetric-preserving' });
    const serverCore = new TcpCore();
    const server = sim.addNode({ name: 'server', createCore: () => serverCore, tcpListenPort: 80 });
    const clientCore = new TcpCore();
    const client = sim.addNode({ name: 'client', nat, createCore: () => clientCore });
    clientCore.connect({ address: server.address, port: 80 });
    sim.wake(client);
    sim.runUntil(100);
    expect(serverCore.events[0]).toMatchObject({ type: 'open' });
    expect(serverCore.events[0]!.remote!.address).toBe(nat.publicAddress);
    expect(clientCore.events[0]).toMatchObject({ type: 'open' });
  });
});
