import { createRandom, type Endpoint, type Instant } from '@p2psp/wire';
import { FakeNat, type FakeNatBehaviour, FakeNetwork, timerParticipant } from './fake-nat.js';
import {
  NatDiscoveryCore,
  type NatDiscoveryOptions,
  type NatDiscoveryResult,
} from './nat-discovery.js';
import { StunServerCore } from './stun-server.js';

/** Public addresses of the fake STUN server (documentation ranges, RFC 5737). */
export const FAKE_STUN_PRIMARY: Endpoint = { address: '203.0.113.1', port: 3478 };
export const FAKE_STUN_ALTERNATE_ADDRESS = '203.0.113.2';
export const FAKE_STUN_ALTERNATE_PORT = 3479;

/** Puts a StunServerCore on a fake network, on all of its endpoints. */
export function bindFakeStunServer(network: FakeNetwork, server: StunServerCore): void {
  for (const local of server.endpoints) {
    network.bind(local, (bytes, from) => {
      const reply = server.handle(bytes, from, local);
      if (reply) network.send(reply.from, reply.to, reply.bytes);
    });
  }
}

export interface FakeDiscoveryOptions {
  /** The NAT in front of the client; null for a host on the public side (open internet). */
  readonly nat: FakeNatBehaviour | null;
  readonly seed?: number;
  /** Fresh sockets for port-allocation samples. Default 3. */
  readonly freshSockets?: number;
  /** Lets a test drop datagrams before the run starts. */
  readonly prepare?: (network: FakeNetwork) => void;
  readonly discovery?: Partial<Pick<NatDiscoveryOptions, 'retransmission' | 'attempts'>>;
  /** Virtual-time budget. Default 120 s. */
  readonly limit?: Instant;
}

export interface FakeDiscoveryRun {
  readonly result: NatDiscoveryResult | undefined;
  readonly network: FakeNetwork;
  readonly nat: FakeNat | null;
  readonly server: StunServerCore;
}

/** Runs our detector against our server through a fake NAT, on virtual time. */
export function runFakeDiscovery(options: FakeDiscoveryOptions): FakeDiscoveryRun {
  const random = createRandom(options.seed ?? 1);
  const network = new FakeNetwork();
  const server = new StunServerCore({
    primary: FAKE_STUN_PRIMARY,
    alternateAddress: FAKE_STUN_ALTERNATE_ADDRESS,
    alternatePort: FAKE_STUN_ALTERNATE_PORT,
  });
  bindFakeStunServer(network, server);
  let nat: FakeNat | null = null;
  const hostAddress = options.nat ? '10.0.0.2' : '198.51.100.20';
  if (options.nat) {
    nat = new FakeNat({ publicAddress: '198.51.100.1', behaviour: options.nat, random });
    network.addNat(nat, '10.0.0.');
  }
  const socketCount = 1 + (options.freshSockets ?? 3);
  const localEndpoints: Endpoint[] = [];
  for (let socket = 0; socket < socketCount; socket++) {
    // Local ports that look like an OS's ephemeral choices, not in sequence.
    localEndpoints.push({ address: hostAddress, port: 40000 + ((socket * 7919) % 20000) });
  }
  const core = new NatDiscoveryCore({
    server: FAKE_STUN_PRIMARY,
    localEndpoints,
    localAddresses: [hostAddress],
    random,
    ...options.discovery,
  });
  const drain = () => {
    for (let output = core.pollOutput(); output; output = core.pollOutput()) {
      if (output.type === 'send-datagram') {
        network.send(localEndpoints[output.socket]!, output.to, output.bytes);
      }
    }
  };
  localEndpoints.forEach((local, socket) => {
    network.bind(local, (bytes, from, now) => {
      core.handleDatagram(bytes, from, socket, now);
      drain();
    });
  });
  options.prepare?.(network);
  core.start(network.now);
  drain();
  network.run(
    [timerParticipant(core, drain)],
    options.limit ?? 120_000,
    () => core.result !== undefined,
  );
  return { result: core.result, network, nat, server };
}
