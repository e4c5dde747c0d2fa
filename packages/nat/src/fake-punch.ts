import { createRandom, type Endpoint, type NatReport } from '@p2psp/wire';
import {
  bindFakeStunServer,
  FAKE_STUN_ALTERNATE_ADDRESS,
  FAKE_STUN_ALTERNATE_PORT,
  FAKE_STUN_PRIMARY,
} from './fake-discovery.js';
import { FakeNat, type FakeNatBehaviour, FakeNetwork, timerParticipant } from './fake-nat.js';
import { HolePunchCore, type HolePunchOptions, type HolePunchResult } from './hole-punch.js';
import { NatDiscoveryCore, type NatDiscoveryResult } from './nat-discovery.js';
import { StunServerCore } from './stun-server.js';

/** Where the fake rendezvous (the P2PSP source) listens. */
export const FAKE_RENDEZVOUS: Endpoint = { address: '203.0.113.50', port: 4552 };

export interface FakePunchSide {
  /** Null: a host on the public side. */
  readonly nat: FakeNatBehaviour | null;
}

export interface FakePunchOptions {
  readonly a: FakePunchSide;
  readonly b: FakePunchSide;
  readonly seed?: number;
  /** Random loss on every datagram (0..1). */
  readonly lossRate?: number;
  /** One-way latency in ms. Default 10. */
  readonly latency?: number;
  /** Relay the last allocated port of each side's discovery as the prediction base. */
  readonly relayPortHint?: boolean;
  readonly punch?: Partial<
    Pick<HolePunchOptions, 'roundInterval' | 'timeout' | 'maxPredictedPorts'>
  >;
}

export interface FakePunchRun {
  readonly a: {
    readonly discovery: NatDiscoveryResult;
    readonly result: HolePunchResult | undefined;
  };
  readonly b: {
    readonly discovery: NatDiscoveryResult;
    readonly result: HolePunchResult | undefined;
  };
  readonly network: FakeNetwork;
  /** Virtual ms from the start of punching until both sides ended. */
  readonly elapsed: number;
}

/**
 * The whole NTS story on virtual time: two hosts behind fake NATs each detect their NAT,
 * register at a rendezvous (which notes the endpoint it sees), then punch towards each other
 * with the relayed report and endpoint.
 */
export function runFakePunch(options: FakePunchOptions): FakePunchRun {
  const random = createRandom(options.seed ?? 1);
  const network = new FakeNetwork({
    latency: options.latency ?? 10,
    ...(options.lossRate
      ? { loss: { rate: options.lossRate, random: createRandom((options.seed ?? 1) + 1000) } }
      : {}),
  });
  const server = new StunServerCore({
    primary: FAKE_STUN_PRIMARY,
    alternateAddress: FAKE_STUN_ALTERNATE_ADDRESS,
    alternatePort: FAKE_STUN_ALTERNATE_PORT,
  });
  bindFakeStunServer(network, server);
  const observed = new Map<string, Endpoint>();
  network.bind(FAKE_RENDEZVOUS, (bytes, from) => {
    observed.set(new TextDecoder().decode(bytes), from);
  });

  const sides = (['a', 'b'] as const).map((name, index) => {
    const side = options[name];
    const hostAddress = side.nat ? `10.0.${index + 1}.2` : `198.51.100.${20 + index}`;
    if (side.nat) {
      network.addNat(
        new FakeNat({
          publicAddress: `198.51.100.${index + 1}`,
          behaviour: side.nat,
          random,
          firstPort: 20000 + index * 7000,
        }),
        `10.0.${index + 1}.`,
      );
    }
    const localEndpoints = [0, 1, 2, 3].map((socket) => ({
      address: hostAddress,
      port: 40000 + index * 3001 + ((socket * 7919) % 20000),
    }));
    return { name, hostAddress, localEndpoints };
  });

  // 1. Discovery, both sides at once.
  const discoveries = sides.map((side) => {
    const core = new NatDiscoveryCore({
      server: FAKE_STUN_PRIMARY,
      localEndpoints: side.localEndpoints,
      localAddresses: [side.hostAddress],
      random,
    });
    const drain = () => {
      for (let output = core.pollOutput(); output; output = core.pollOutput()) {
        if (output.type === 'send-datagram')
          network.send(side.localEndpoints[output.socket]!, output.to, output.bytes);
      }
    };
    side.localEndpoints.forEach((local, socket) => {
      network.bind(local, (bytes, from, now) => {
        core.handleDatagram(bytes, from, socket, now);
        drain();
      });
    });
    core.start(network.now);
    drain();
    return { core, participant: timerParticipant(core, drain) };
  });
  network.run(
    discoveries.map((discovery) => discovery.participant),
    network.now + 120_000,
    () => discoveries.every((discovery) => discovery.core.result),
  );
  const results = discoveries.map((discovery) => discovery.core.result!);

  // 2. Rendezvous: each side's socket 0 registers; the rendezvous notes what it sees.
  // Retried like a real registration would be (a lost one would leave no endpoint to relay).
  for (let attempt = 0; attempt < 10 && observed.size < sides.length; attempt++) {
    for (const side of sides) {
      if (observed.has(side.name)) continue;
      network.send(side.localEndpoints[0]!, FAKE_RENDEZVOUS, new TextEncoder().encode(side.name));
    }
    network.run([], network.now + 100);
  }

  // 3. Punch, both sides at once, each told the other's report and observed endpoint.
  const startedAt = network.now;
  const punches = sides.map((side, index) => {
    const other = sides[1 - index]!;
    const otherResult = results[1 - index]!;
    const otherObserved = observed.get(other.name);
    const remoteNat: NatReport = otherResult.report;
    const core = new HolePunchCore({
      localNat: results[index]!.report,
      remoteNat,
      remoteEndpoints: otherObserved ? [otherObserved] : [],
      ...(options.relayPortHint && otherResult.lastMappedPort !== null && otherObserved
        ? { remotePortHint: Math.max(otherResult.lastMappedPort, otherObserved.port) }
        : {}),
      localMemberId: index + 1,
      remoteMemberId: 2 - index,
      random,
      ...options.punch,
    });
    const local = side.localEndpoints[0]!;
    const drain = () => {
      for (let output = core.pollOutput(); output; output = core.pollOutput()) {
        if (output.type === 'send-datagram') network.send(local, output.to, output.bytes);
      }
    };
    network.bind(local, (bytes, from, now) => {
      core.handleDatagram(bytes, from, now);
      drain();
    });
    core.start(network.now);
    drain();
    return { core, participant: timerParticipant(core, drain) };
  });
  network.run(
    punches.map((punch) => punch.participant),
    network.now + 60_000,
    () => punches.every((punch) => punch.core.result),
  );
  // Let in-flight acks land so both sides see the end.
  network.run([], network.now + 200);
  return {
    a: { discovery: results[0]!, result: punches[0]!.core.result },
    b: { discovery: results[1]!, result: punches[1]!.core.result },
    network,
    elapsed: network.now - startedAt,
  };
}
