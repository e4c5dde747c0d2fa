import {
  HolePunchCore,
  type HolePunchResult,
  NatDiscoveryCore,
  type NatDiscoveryOptions,
  type NatDiscoveryResult,
  StunServerCore,
} from '@p2psp/nat';
import type { NatBox, NatBoxOptions, NatBoxType } from '@p2psp/nat/testing';
import {
  type CoreOutput,
  createRandom,
  type Endpoint,
  type Instant,
  type Random,
  sameEndpoint,
} from '@p2psp/wire';
import type { LinkModel } from '../../src/link-model.js';
import { type SimulatedNode, Simulator } from '../../src/simulator.js';

/**
 * The NAT cores of @p2psp/nat (RFC 5780 discovery, its STUN server, hole punching) on the
 * simulator, through its NAT boxes. Those cores speak datagrams on one or several sockets
 * rather than the SansIoCore contract; `SimulatedHost` gives each socket a node.
 */

/** Public addresses of the STUN server (documentation ranges, RFC 5737). */
export const STUN_PRIMARY: Endpoint = { address: '203.0.113.1', port: 3478 };
export const STUN_ALTERNATE_ADDRESS = '203.0.113.2';
export const STUN_ALTERNATE_PORT = 3479;
/** Where the rendezvous (the P2PSP source) listens. */
const RENDEZVOUS: Endpoint = { address: '203.0.113.50', port: 4552 };

type DatagramOutput = {
  readonly type: string;
  readonly socket?: number;
  readonly to?: Endpoint;
  readonly bytes?: Uint8Array;
};

/** A datagram core on a host's sockets (`socket` indexes them; absent means socket 0). */
export interface SocketCore {
  handleDatagram(bytes: Uint8Array, from: Endpoint, socket: number, now: Instant): void;
  handleTimeout(now: Instant): void;
  pollTimeout(): Instant | undefined;
  pollOutput(): DatagramOutput | undefined;
}

export interface HostOptions {
  readonly name: string;
  /** One UDP socket each; a NATed host's addresses are private to its NAT. */
  readonly endpoints: readonly Endpoint[];
  readonly nat?: NatBox | null;
  readonly link?: Partial<LinkModel>;
  readonly dropOutgoing?: (from: Endpoint, to: Endpoint) => boolean;
}

/**
 * A host whose sockets are simulator nodes (several may share an address) driven by one
 * `SocketCore` at a time: discovery, then punching, on the same socket 0. The core's timer
 * is socket 0's.
 */
export class SimulatedHost {
  readonly nodes: SimulatedNode[] = [];
  #core: SocketCore | null = null;
  readonly #queues: CoreOutput[][];

  constructor(
    readonly sim: Simulator,
    options: HostOptions,
  ) {
    this.#queues = options.endpoints.map(() => []);
    options.endpoints.forEach((endpoint, socket) => {
      this.nodes.push(
        sim.addNode({
          name: `${options.name}-${socket}`,
          address: endpoint.address,
          udpPort: endpoint.port,
          nat: options.nat ?? null,
          ...(options.link ? { link: options.link } : {}),
          dropOutgoing: options.dropOutgoing ? (to) => options.dropOutgoing!(endpoint, to) : null,
          createCore: () => ({
            handle: (input, now) => {
              if (input.type === 'datagram')
                this.#core?.handleDatagram(input.bytes, input.from, socket, now);
              this.#collect();
            },
            handleTimeout: (now) => {
              this.#core?.handleTimeout(now);
              this.#collect();
            },
            pollTimeout: () => (socket === 0 ? this.#core?.pollTimeout() : undefined),
            pollOutput: () => this.#queues[socket]!.shift(),
          }),
        }),
      );
    });
  }

  get endpoints(): Endpoint[] {
    return this.nodes.map((node) => node.endpoint);
  }

  attach(core: SocketCore): void {
    this.#core = core;
    this.#collect();
  }

  /** A datagram from `socket` outside any core (a registration at the rendezvous). */
  send(socket: number, to: Endpoint, bytes: Uint8Array): void {
    this.#queues[socket]!.push({ type: 'send-datagram', to, bytes });
    this.#collect();
  }

  /** Sorts the core's datagrams by socket; each node sends its own and re-reads the timer. */
  #collect(): void {
    for (let output = this.#core?.pollOutput(); output; output = this.#core?.pollOutput()) {
      if (output.type === 'send-datagram') {
        this.#queues[output.socket ?? 0]!.push({
          type: 'send-datagram',
          to: output.to!,
          bytes: output.bytes!,
        });
      }
    }
    for (const node of this.nodes) this.sim.schedule(this.sim.now, () => this.sim.wake(node));
  }
}

/** Our RFC 5780 server on its four sockets (two addresses, two ports), answering from any. */
function addStunServer(sim: Simulator, options: Pick<HostOptions, 'link' | 'dropOutgoing'>): void {
  const server = new StunServerCore({
    primary: STUN_PRIMARY,
    alternateAddress: STUN_ALTERNATE_ADDRESS,
    alternatePort: STUN_ALTERNATE_PORT,
  });
  const replies: DatagramOutput[] = [];
  const host = new SimulatedHost(sim, { name: 'stun', endpoints: server.endpoints, ...options });
  host.attach({
    handleDatagram: (bytes, from, socket) => {
      const reply = server.handle(bytes, from, server.endpoints[socket]!);
      if (reply === null) return;
      const replySocket = server.endpoints.findIndex((local) => sameEndpoint(local, reply.from));
      replies.push({
        type: 'send-datagram',
        socket: replySocket,
        to: reply.to,
        bytes: reply.bytes,
      });
    },
    handleTimeout: () => {},
    pollTimeout: () => undefined,
    pollOutput: () => replies.shift(),
  });
}

/** A NAT box of the simulator: a wire type and overrides, or the behaviours alone. */
export type NatSpec = Partial<NatBoxOptions> & { readonly type?: NatBoxType };

/** A host's sockets: socket 0 and fresh ones, on ports that look like an OS's ephemeral choices. */
function hostEndpoints(address: string, sockets: number, firstPort = 40000): Endpoint[] {
  return Array.from({ length: sockets }, (_, socket) => ({
    address,
    port: firstPort + ((socket * 7919) % 20000),
  }));
}

function discoveryCore(
  host: SimulatedHost,
  random: Random,
  options: DiscoveryRunOptions['discovery'] = {},
): NatDiscoveryCore {
  const endpoints = host.endpoints;
  return new NatDiscoveryCore({
    server: STUN_PRIMARY,
    localEndpoints: endpoints,
    localAddresses: [endpoints[0]!.address],
    random,
    ...options,
  });
}

/** Steps the clock 1 ms at a time until `done` holds or `limit` is reached. */
function runUntilDone(sim: Simulator, done: () => boolean, limit: Instant): void {
  while (!done() && sim.now < limit) sim.runUntil(sim.now + 1);
}

/** Sums the datagrams the simulator dropped, every node and reason. */
function droppedDatagrams(sim: Simulator): number {
  let dropped = 0;
  for (const node of sim.nodes) {
    for (const count of Object.values(node.statistics.drops)) dropped += count;
    for (const count of Object.values(node.statistics.dropsOnArrival)) dropped += count;
  }
  return dropped;
}

export interface DiscoveryRunOptions {
  /** The NAT in front of the client; null for a host on the public side (open internet). */
  readonly nat: NatSpec | null;
  readonly seed?: number;
  /** Loses the first `count` datagrams (of any host) for which `matches` holds. */
  readonly drop?: {
    readonly count: number;
    readonly matches: (from: Endpoint, to: Endpoint) => boolean;
  };
  readonly discovery?: Partial<Pick<NatDiscoveryOptions, 'retransmission' | 'attempts'>>;
}

export interface DiscoveryRun {
  readonly result: NatDiscoveryResult | undefined;
  /** Datagrams the network dropped (by `drop`, a NAT filter, or no route). */
  readonly dropped: number;
}

/** Runs our detector against our server through a NAT box, on virtual time. */
export function runDiscovery(options: DiscoveryRunOptions): DiscoveryRun {
  const seed = options.seed ?? 1;
  const sim = new Simulator({ seed });
  let dropsLeft = options.drop?.count ?? 0;
  const dropOutgoing = (from: Endpoint, to: Endpoint): boolean => {
    if (dropsLeft <= 0 || !options.drop!.matches(from, to)) return false;
    dropsLeft -= 1;
    return true;
  };
  // 10 ms one way, 5 ms on each access link.
  const link = { latencyMs: 5 };
  addStunServer(sim, { link, dropOutgoing });
  const nat = options.nat && sim.addNat({ ...options.nat, publicAddress: '198.51.100.1' });
  const host = new SimulatedHost(sim, {
    name: 'client',
    endpoints: hostEndpoints(nat ? '10.0.0.2' : '198.51.100.20', 4),
    nat,
    link,
    dropOutgoing,
  });
  const core = discoveryCore(host, createRandom(seed), options.discovery);
  core.start(sim.now);
  host.attach(core);
  runUntilDone(sim, () => core.result !== undefined, 120_000);
  return { result: core.result, dropped: droppedDatagrams(sim) };
}

export interface PunchRunOptions {
  /** Each side's NAT; null for a host on the public side. */
  readonly a: NatSpec | null;
  readonly b: NatSpec | null;
  readonly seed?: number;
  /** Random loss on every datagram (0..1). */
  readonly lossRate?: number;
  /** One-way latency in ms. Default 10. */
  readonly latency?: number;
}

export interface PunchSide {
  readonly discovery: NatDiscoveryResult;
  readonly result: HolePunchResult | undefined;
}

export interface PunchRun {
  readonly a: PunchSide;
  readonly b: PunchSide;
}

/**
 * The whole NTS story on virtual time: two hosts behind NAT boxes each detect their NAT,
 * register at a rendezvous (which notes the endpoint it sees), then punch towards each
 * other with the relayed report and endpoint.
 */
export function runPunch(options: PunchRunOptions): PunchRun {
  const seed = options.seed ?? 1;
  const random = createRandom(seed);
  const sim = new Simulator({ seed });
  // Loss and latency of a path, split over the two access links a datagram crosses.
  const link = {
    latencyMs: (options.latency ?? 10) / 2,
    loss: 1 - Math.sqrt(1 - (options.lossRate ?? 0)),
  };
  addStunServer(sim, { link });
  const observed = new Map<string, Endpoint>();
  sim.addNode({
    name: 'rendezvous',
    address: RENDEZVOUS.address,
    udpPort: RENDEZVOUS.port,
    link,
    createCore: () => ({
      handle: (input) => {
        if (input.type === 'datagram')
          observed.set(new TextDecoder().decode(input.bytes), input.from);
      },
      handleTimeout: () => {},
      pollTimeout: () => undefined,
      pollOutput: () => undefined,
    }),
  });
  const sides = (['a', 'b'] as const).map((name, index) => {
    const spec = options[name];
    const nat =
      spec &&
      sim.addNat({
        firstPort: 20000 + index * 7000,
        ...spec,
        publicAddress: `198.51.100.${index + 1}`,
      });
    const address = nat ? `10.0.${index + 1}.2` : `198.51.100.${20 + index}`;
    const host = new SimulatedHost(sim, {
      name,
      endpoints: hostEndpoints(address, 4, 40000 + index * 3001),
      nat,
      link,
    });
    return { name, host };
  });

  // 1. Discovery, both sides at once.
  const discoveries = sides.map(({ host }) => {
    const core = discoveryCore(host, random);
    core.start(sim.now);
    host.attach(core);
    return core;
  });
  runUntilDone(sim, () => discoveries.every((core) => core.result), sim.now + 120_000);
  const results = discoveries.map((core) => core.result!);

  // 2. Rendezvous: each side's socket 0 registers; the rendezvous notes what it sees.
  // Retried like a real registration would be (a lost one would leave no endpoint to relay).
  for (let attempt = 0; attempt < 10 && observed.size < sides.length; attempt++) {
    for (const { name, host } of sides) {
      if (!observed.has(name)) host.send(0, RENDEZVOUS, new TextEncoder().encode(name));
    }
    sim.runUntil(sim.now + 100);
  }

  // 3. Punch, both sides at once, each told the other's report and observed endpoint.
  const punches = sides.map(({ host }, index) => {
    const otherObserved = observed.get(sides[1 - index]!.name);
    const core = new HolePunchCore({
      localNat: results[index]!.report,
      remoteNat: results[1 - index]!.report,
      remoteEndpoints: otherObserved ? [otherObserved] : [],
      localMemberId: index + 1,
      remoteMemberId: 2 - index,
      random,
    });
    core.start(sim.now);
    host.attach({
      handleDatagram: (bytes, from, _socket, now) => core.handleDatagram(bytes, from, now),
      handleTimeout: (now) => core.handleTimeout(now),
      pollTimeout: () => core.pollTimeout(),
      pollOutput: () => core.pollOutput(),
    });
    return core;
  });
  runUntilDone(sim, () => punches.every((core) => core.result), sim.now + 60_000);
  // Let in-flight acks land so both sides see the end.
  sim.runUntil(sim.now + 200);
  return {
    a: { discovery: results[0]!, result: punches[0]!.result },
    b: { discovery: results[1]!, result: punches[1]!.result },
  };
}
