import { createHash, type Hash } from 'node:crypto';
import { NAT_BOX_PRESETS, NatBox, type NatBoxOptions, type NatBoxType } from '@p2psp/nat/testing';
import {
  type ConnectionId,
  type CoreOutput,
  createRandom,
  type Endpoint,
  isControlDatagram,
  type Random,
  type SansIoCore,
} from '@p2psp/wire';
import { EventKind, EventQueue, type SimulationEvent } from './event-queue.js';
import { type LinkModel, LinkState, linkModel, validateLinkModel } from './link-model.js';

/** IPv4 plus UDP header bytes: what a datagram really costs on the uplink (RFC 768, 791). */
export const UDP_IP_OVERHEAD_BYTES = 28;
/** IPv4 plus TCP header bytes per segment, charged once per `write` (RFC 793, 791). */
export const TCP_IP_OVERHEAD_BYTES = 40;

/** Why the simulator dropped a datagram: counted per node and in total. */
export type DropReason =
  | 'loss'
  | 'upload-queue-full'
  | 'node-model'
  | 'no-route'
  | 'nat-filtered'
  | 'node-gone';

export interface NodeStatistics {
  datagramsSent: number;
  datagramsReceived: number;
  /** UDP payload bytes (headers excluded). */
  bytesSent: number;
  /** `bytesSent` by the datagram's type byte (its second byte, `@p2psp/wire`'s type codes). */
  readonly bytesSentByType: Float64Array;
  bytesReceived: number;
  tcpBytesSent: number;
  tcpBytesReceived: number;
  /** Datagrams this node sent that never left or were lost on the way, by reason. */
  drops: Record<DropReason, number>;
  /** Datagrams towards this node dropped when they reached it (NAT filter, no socket, gone). */
  dropsOnArrival: Record<DropReason, number>;
}

export interface NodeContext {
  /** The node's seeded randomness (derived from the run's seed and the node's index). */
  readonly random: Random;
  /** The node's own UDP endpoint (its private one when behind a NAT). */
  readonly endpoint: Endpoint;
  readonly now: number;
}

export interface NodeOptions {
  readonly name: string;
  /** Builds the core when the node starts (now, or at the scheduled join). */
  readonly createCore: (context: NodeContext) => SansIoCore;
  /** Default: the next free address of the node's realm. */
  readonly address?: string;
  readonly udpPort?: number;
  /** A TCP port the node accepts connections on (the source), or none. */
  readonly tcpListenPort?: number | null;
  /** Put the node behind this NAT (its address is then private to the NAT). */
  readonly nat?: NatBox | null;
  /** Access link model, both directions (overridden per direction by uplink/downlink). */
  readonly link?: Partial<LinkModel>;
  readonly uplink?: Partial<LinkModel>;
  readonly downlink?: Partial<LinkModel>;
  /** Upload capacity in bytes per second (default unlimited). */
  readonly uploadBytesPerSecond?: number;
  /** Bytes that may wait in the upload queue; a datagram that does not fit is dropped. */
  readonly uploadQueueBytes?: number;
  /**
   * The node's own behaviour model, applied to its outgoing datagrams before they reach
   * the network: return true to drop (a free rider drops its relays). The core is not
   * touched: it believes it sent them.
   */
  readonly dropOutgoing?: ((to: Endpoint, bytes: Uint8Array) => boolean) | null;
  /** Outputs the network does not consume (play, event, stream-header, stopped). */
  readonly onOutput?: ((node: SimulatedNode, output: CoreOutput, now: number) => void) | null;
}

/** A trace record: one NDJSON line. */
export interface TraceRecord {
  readonly time: number;
  readonly type: string;
  readonly [field: string]: string | number | boolean | null;
}

export interface SimulatorOptions {
  readonly seed: number;
  /** Record every datagram delivery and drop in the trace (small runs, determinism tests). */
  readonly traceDatagrams?: boolean;
  /** Keep trace records in memory (`trace`); the hash is always computed. */
  readonly keepTrace?: boolean;
  /** Called with each trace record (e.g. to write NDJSON). */
  readonly onTrace?: ((record: TraceRecord) => void) | null;
  /**
   * What a crash does to TCP: `process` (the program died, the kernel resets its
   * connections, as after kill -9) or `host` (the machine vanished: silence).
   */
  readonly crashMode?: 'process' | 'host';
}

interface Connection {
  readonly node: SimulatedNode;
  readonly id: ConnectionId;
  peer: Connection | null;
  /** Latest scheduled arrival towards the peer: TCP delivers in order. */
  lastArrival: number;
  readonly delayTowardsPeer: number;
  open: boolean;
}

function emptyDrops(): Record<DropReason, number> {
  return {
    loss: 0,
    'upload-queue-full': 0,
    'node-model': 0,
    'no-route': 0,
    'nat-filtered': 0,
    'node-gone': 0,
  };
}

/** Mixes the run seed with a stream index so each node gets its own generator (splitmix32). */
export function deriveSeed(seed: number, index: number): number {
  let value = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  value = Math.imul(value ^ (value >>> 16), 0x85ebca6b) >>> 0;
  value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35) >>> 0;
  return (value ^ (value >>> 16)) >>> 0;
}

/** One host with one core, one UDP socket and maybe a TCP listener. */
export class SimulatedNode {
  readonly statistics: NodeStatistics = {
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    bytesSentByType: new Float64Array(256),
    bytesReceived: 0,
    tcpBytesSent: 0,
    tcpBytesReceived: 0,
    drops: emptyDrops(),
    dropsOnArrival: emptyDrops(),
  };
  alive = true;
  readonly startedAt: number;
  stoppedAt: number | null = null;
  core!: SansIoCore;
  /** @internal */ busyUntil = 0;
  /** @internal When the control datagrams queued ahead of the rest have left. */
  urgentUntil = 0;
  /** @internal */ timerAt: number | undefined = undefined;
  /** @internal */ timerGeneration = 0;
  /** @internal */ readonly connections = new Map<ConnectionId, Connection>();
  /** @internal */ nextAcceptedId = 1;
  /** @internal */ readonly uplink: LinkState;
  /** @internal */ readonly downlink: LinkState;
  /** @internal */ readonly secondsPerByte: number;

  constructor(
    readonly index: number,
    readonly name: string,
    /** The node's own UDP endpoint (private when behind a NAT). */
    readonly endpoint: Endpoint,
    readonly tcpListenPort: number | null,
    readonly nat: NatBox | null,
    readonly options: NodeOptions,
    now: number,
  ) {
    this.startedAt = now;
    const uplink = linkModel({ ...options.link, ...options.uplink });
    const downlink = linkModel({ ...options.link, ...options.downlink });
    validateLinkModel(uplink, `${name}.uplink`);
    validateLinkModel(downlink, `${name}.downlink`);
    this.uplink = new LinkState(uplink);
    this.downlink = new LinkState(downlink);
    const rate = options.uploadBytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(rate > 0)) throw new RangeError(`${name}.uploadBytesPerSecond must be > 0`);
    this.secondsPerByte = 1 / rate;
  }

  get address(): string {
    return this.endpoint.address;
  }
}

/** Public addresses come from 198.18.0.0/15, the range RFC 2544 reserves for test networks. */
function publicAddress(index: number): string {
  return `198.${18 + ((index >> 16) & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

/**
 * The deterministic simulator: a virtual clock, an agenda of events, virtual UDP and TCP
 * between nodes, access-link models (latency, jitter, loss, upload capacity) and NAT
 * boxes. Each node runs an unmodified sans-IO core (`SansIoCore`); the simulator feeds it
 * inputs at virtual instants and drains its outputs, exactly as the Node runtime does with
 * real sockets.
 */
export class Simulator {
  now = 0;
  readonly nodes: SimulatedNode[] = [];
  readonly nats: NatBox[] = [];
  readonly trace: TraceRecord[] = [];
  /** Total datagrams delivered, for throughput figures. */
  datagramsDelivered = 0;
  eventsProcessed = 0;
  private readonly queue = new EventQueue();
  private readonly random: Random;
  private readonly options: SimulatorOptions;
  private readonly traceHash: Hash = createHash('sha256');
  /** Internet realm: public address -> NAT box, or the host's sockets by UDP port. */
  private readonly publicHosts = new Map<string, NatBox | Map<number, SimulatedNode>>();
  /** Private realms: per NAT, private address -> the host's sockets by UDP port. */
  private readonly privateHosts = new Map<NatBox, Map<string, Map<number, SimulatedNode>>>();
  private readonly pathOverrides = new Map<SimulatedNode, Map<SimulatedNode, LinkState>>();
  private nextPublicIndex = 1;
  private nodeSeedIndex = 0;

  constructor(options: SimulatorOptions) {
    this.options = options;
    this.random = createRandom(deriveSeed(options.seed, 0x7fffffff));
  }

  /** The simulator's own generator (loss, jitter, NAT ports): for scenario choices too. */
  get networkRandom(): Random {
    return this.random;
  }

  /** SHA-256 over every trace record so far: equal for equal seeds and parameters. */
  traceDigest(): string {
    return this.traceHash.copy().digest('hex');
  }

  record(type: string, fields: Record<string, string | number | boolean | null> = {}): void {
    // Time and type first (readable NDJSON); they win over fields of the same name.
    const record: Record<string, string | number | boolean | null> = { time: this.now, type };
    for (const key in fields) if (key !== 'time' && key !== 'type') record[key] = fields[key]!;
    const traced = record as TraceRecord;
    this.traceHash.update(JSON.stringify(traced));
    this.traceHash.update('\n');
    if (this.options.keepTrace) this.trace.push(traced);
    this.options.onTrace?.(traced);
  }

  /** A NAT box of a wire NAT type (default port-restricted cone); `options` override its behaviours. */
  addNat(options: Partial<NatBoxOptions> & { type?: NatBoxType } = {}): NatBox {
    const { type = 'port-restricted-cone', ...overrides } = options;
    const address = overrides.publicAddress ?? publicAddress(this.nextPublicIndex++);
    if (this.publicHosts.has(address)) throw new RangeError(`address ${address} is already in use`);
    const nat = new NatBox(
      {
        ...NAT_BOX_PRESETS[type],
        portStep: 1,
        firstPort: 20000,
        mappingLifetimeMs: 120_000,
        hairpinning: true,
        ...overrides,
        publicAddress: address,
      },
      createRandom(deriveSeed(this.options.seed, 0x40000000 + this.nats.length)),
    );
    this.nats.push(nat);
    this.publicHosts.set(address, nat);
    this.privateHosts.set(nat, new Map());
    return nat;
  }

  /** Starts a node now: builds its core and drains its first outputs. */
  addNode(options: NodeOptions): SimulatedNode {
    const nat = options.nat ?? null;
    let address = options.address;
    let ports: Map<number, SimulatedNode>;
    if (nat === null) {
      address ??= publicAddress(this.nextPublicIndex++);
      const existing = this.publicHosts.get(address);
      if (existing instanceof NatBox) throw new RangeError(`address ${address} is a NAT's`);
      ports = existing ?? new Map();
      this.publicHosts.set(address, ports);
    } else {
      const realm = this.privateHosts.get(nat);
      if (realm === undefined) throw new RangeError('that NAT belongs to another simulator');
      address ??= `192.168.${((realm.size + 2) >> 8) & 255}.${(realm.size + 2) & 255}`;
      ports = realm.get(address) ?? new Map();
      realm.set(address, ports);
    }
    const endpoint: Endpoint = { address, port: options.udpPort ?? 4000 };
    // A crashed or stopped node's endpoint is free again: a program restarted on its address.
    if (ports.get(endpoint.port)?.alive === true) {
      throw new RangeError(`${address}:${endpoint.port} is already in use: pick another udpPort`);
    }
    const node = new SimulatedNode(
      this.nodes.length,
      options.name,
      endpoint,
      options.tcpListenPort ?? null,
      nat,
      options,
      this.now,
    );
    this.nodes.push(node);
    ports.set(endpoint.port, node);
    const random = createRandom(deriveSeed(this.options.seed, this.nodeSeedIndex++));
    node.core = options.createCore({ random, endpoint, now: this.now });
    this.record('node-start', { node: node.name, address, behindNat: nat !== null });
    this.drain(node);
    return node;
  }

  /** Overrides the whole path from `from` to `to` (instead of uplink + downlink). */
  setPath(from: SimulatedNode, to: SimulatedNode, model: Partial<LinkModel>): void {
    const full = linkModel(model);
    validateLinkModel(full, `path ${from.name}->${to.name}`);
    let map = this.pathOverrides.get(from);
    if (map === undefined) {
      map = new Map();
      this.pathOverrides.set(from, map);
    }
    map.set(to, new LinkState(full));
  }

  /** Runs `action` at virtual time `time` (not before now). */
  schedule(time: number, action: () => void): void {
    const event = this.queue.allocate();
    event.time = Math.max(time, this.now);
    event.kind = EventKind.Action;
    event.detail = action;
    this.queue.push(event);
  }

  /** Feeds an input to a node's core now (e.g. ingest data for the source). */
  deliver(node: SimulatedNode, input: Parameters<SansIoCore['handle']>[0]): void {
    if (!node.alive) return;
    node.core.handle(input, this.now);
    this.drain(node);
  }

  /** Drains a node's outputs after something outside changed its core (tests, tools). */
  wake(node: SimulatedNode): void {
    if (node.alive) this.drain(node);
  }

  /** Polite leave: the core gets `stop`, says goodbye, and is removed when it reports `stopped`. */
  stop(node: SimulatedNode): void {
    if (!node.alive) return;
    this.record('node-stop', { node: node.name });
    this.deliver(node, { type: 'stop' });
  }

  /** Crash: the node vanishes without a word (see `crashMode` for its TCP connections). */
  crash(node: SimulatedNode): void {
    if (!node.alive) return;
    this.record('node-crash', { node: node.name });
    this.remove(node, this.options.crashMode === 'host' ? null : 'reset by peer');
  }

  /** Processes events until virtual time `until` (inclusive); the clock ends at `until`. */
  runUntil(until: number): void {
    const queue = this.queue;
    for (;;) {
      if (queue.peekTime() > until) break;
      const event = queue.pop()!;
      this.now = event.time;
      this.eventsProcessed += 1;
      switch (event.kind) {
        case EventKind.Datagram:
          this.arrive(event);
          break;
        case EventKind.CoreTimer: {
          const node = this.nodes[event.target]!;
          if (node.alive && node.timerGeneration === event.number) {
            node.timerAt = undefined;
            node.core.handleTimeout(this.now);
            this.drain(node);
          }
          break;
        }
        case EventKind.Action:
          (event.detail as () => void)();
          break;
      }
      queue.release(event);
    }
    this.now = Math.max(this.now, until);
  }

  // -------------------------------------------------------------------------
  // Driving cores.

  private drain(node: SimulatedNode): void {
    const core = node.core;
    for (;;) {
      if (!node.alive) return;
      const output = core.pollOutput();
      if (output === undefined) break;
      switch (output.type) {
        case 'send-datagram':
          this.sendDatagram(node, output.to, output.bytes);
          break;
        case 'connect':
          this.connect(node, output.connection, output.to);
          break;
        case 'write':
          this.write(node, output.connection, output.bytes);
          break;
        case 'close':
          this.close(node, output.connection, output.reason);
          break;
        case 'stopped':
          node.options.onOutput?.(node, output, this.now);
          this.record('node-stopped', { node: node.name, reason: output.reason });
          this.remove(node, 'closed by peer');
          return;
        default:
          node.options.onOutput?.(node, output, this.now);
      }
    }
    const timeout = core.pollTimeout();
    if (timeout !== undefined && timeout !== node.timerAt) {
      node.timerAt = timeout;
      const event = this.queue.allocate();
      event.time = Math.max(timeout, this.now);
      event.kind = EventKind.CoreTimer;
      event.target = node.index;
      event.number = ++node.timerGeneration;
      this.queue.push(event);
    } else if (timeout === undefined && node.timerAt !== undefined) {
      node.timerAt = undefined;
      node.timerGeneration += 1;
    }
  }

  private remove(node: SimulatedNode, tcpReason: string | null): void {
    node.alive = false;
    node.stoppedAt = this.now;
    node.timerGeneration += 1;
    for (const connection of node.connections.values()) {
      const peer = connection.peer;
      connection.open = false;
      if (tcpReason !== null && peer !== null) this.closeTowards(connection, peer, tcpReason);
    }
    node.connections.clear();
  }

  // -------------------------------------------------------------------------
  // UDP.

  private drop(node: SimulatedNode, reason: DropReason, to: Endpoint, length: number): void {
    node.statistics.drops[reason] += 1;
    if (this.options.traceDatagrams) {
      this.record('datagram-drop', {
        node: node.name,
        reason,
        to: `${to.address}:${to.port}`,
        length,
      });
    }
  }

  /**
   * Upload queue: FIFO at the node's capacity; returns the instant the last bit leaves, or -1.
   * `urgent` datagrams (control: all but chunks) go ahead of the others waiting, as the host
   * sends control before the relays it holds back (@p2psp/host): they leave one after the
   * other at once, and the datagrams queued after them wait that much longer.
   */
  private transmit(
    node: SimulatedNode,
    wireBytes: number,
    droppable: boolean,
    urgent = false,
  ): number {
    const now = this.now;
    const start = Math.max(node.busyUntil, now);
    if (node.secondsPerByte === 0) return now;
    if (urgent) {
      const duration = wireBytes * node.secondsPerByte * 1000;
      node.busyUntil = start + duration;
      node.urgentUntil = Math.max(node.urgentUntil, now) + duration;
      return node.urgentUntil;
    }
    const queuedBytes = (start - now) / 1000 / node.secondsPerByte;
    const limit = node.options.uploadQueueBytes ?? Number.POSITIVE_INFINITY;
    if (droppable && queuedBytes + wireBytes > limit) return -1;
    node.busyUntil = start + wireBytes * node.secondsPerByte * 1000;
    return node.busyUntil;
  }

  private sendDatagram(sender: SimulatedNode, to: Endpoint, bytes: Uint8Array): void {
    const dropOutgoing = sender.options.dropOutgoing;
    if (dropOutgoing?.(to, bytes)) {
      this.drop(sender, 'node-model', to, bytes.length);
      return;
    }
    // Route: translate the source through the sender's NAT and find the receiving host.
    const now = this.now;
    let from = sender.endpoint;
    let receiver: SimulatedNode | undefined;
    let checkNat: NatBox | null = null;
    const nat = sender.nat;
    let routed = false;
    if (nat !== null) {
      const local = this.privateHosts.get(nat)!.get(to.address);
      if (local !== undefined) {
        receiver = local.get(to.port); // Same LAN: no translation.
        routed = true;
      } else {
        from = nat.outbound(sender.endpoint, to, now);
      }
    }
    if (!routed) {
      const host = this.publicHosts.get(to.address);
      if (host instanceof NatBox) {
        if (host !== nat || host.options.hairpinning) {
          const mapping = host.lookup(to.port, now);
          if (mapping !== undefined) {
            const internal = mapping.internal;
            receiver = this.privateHosts.get(host)!.get(internal.address)?.get(internal.port);
            checkNat = host;
          }
        }
      } else if (host !== undefined) {
        receiver = host.get(to.port);
      }
    }
    if (receiver === undefined || !receiver.alive) {
      this.drop(sender, receiver === undefined ? 'no-route' : 'node-gone', to, bytes.length);
      return;
    }
    const departure = this.transmit(
      sender,
      bytes.length + UDP_IP_OVERHEAD_BYTES,
      true,
      isControlDatagram(bytes),
    );
    if (departure < 0) {
      this.drop(sender, 'upload-queue-full', to, bytes.length);
      return;
    }
    sender.statistics.datagramsSent += 1;
    sender.statistics.bytesSent += bytes.length;
    if (bytes.length > 1) sender.statistics.bytesSentByType[bytes[1]!]! += bytes.length;
    const random = this.random;
    let delay: number;
    const path =
      this.pathOverrides.size > 0 ? this.pathOverrides.get(sender)?.get(receiver) : undefined;
    if (path !== undefined) {
      if (path.lose(random)) {
        this.drop(sender, 'loss', to, bytes.length);
        return;
      }
      delay = path.delay(random);
    } else {
      if (sender.uplink.lose(random) || receiver.downlink.lose(random)) {
        this.drop(sender, 'loss', to, bytes.length);
        return;
      }
      delay = sender.uplink.delay(random) + receiver.downlink.delay(random);
    }
    const event = this.queue.allocate();
    event.time = departure + delay;
    event.kind = EventKind.Datagram;
    event.target = receiver.index;
    event.number = to.port;
    event.from = from;
    event.bytes = bytes;
    event.detail = checkNat;
    this.queue.push(event);
  }

  private arrive(event: SimulationEvent): void {
    const receiver = this.nodes[event.target]!;
    const from = event.from as Endpoint;
    const bytes = event.bytes!;
    const nat = event.detail as NatBox | null;
    // The NAT filters when the datagram reaches it, not when it was sent: a hole punched
    // by an outbound datagram in the meantime lets it through (RFC 4787 section 5).
    if (nat !== null) {
      const internal = nat.inbound(event.number, from, this.now);
      if (internal !== receiver.endpoint) {
        this.dropAtArrival(receiver, 'nat-filtered', from, bytes.length);
        return;
      }
    }
    if (!receiver.alive) {
      this.dropAtArrival(receiver, 'node-gone', from, bytes.length);
      return;
    }
    receiver.statistics.datagramsReceived += 1;
    receiver.statistics.bytesReceived += bytes.length;
    this.datagramsDelivered += 1;
    if (this.options.traceDatagrams) {
      this.record('datagram-deliver', {
        node: receiver.name,
        from: `${from.address}:${from.port}`,
        length: bytes.length,
      });
    }
    receiver.core.handle({ type: 'datagram', from, bytes }, this.now);
    this.drain(receiver);
  }

  /** Arrival-time drops are charged to the receiver's table under the same reasons. */
  private dropAtArrival(
    receiver: SimulatedNode,
    reason: DropReason,
    from: Endpoint,
    length: number,
  ): void {
    receiver.statistics.dropsOnArrival[reason] += 1;
    if (this.options.traceDatagrams) {
      this.record('datagram-drop', {
        node: receiver.name,
        reason,
        from: `${from.address}:${from.port}`,
        length,
      });
    }
  }

  // -------------------------------------------------------------------------
  // TCP: ordered, reliable byte streams. Loss is not modelled on TCP (retransmission
  // hides it; its delay is not simulated): segments take the path's one-way delay, with
  // no jitter, and share the sender's upload queue without being dropped from it.

  private pathDelay(from: SimulatedNode, to: SimulatedNode): number {
    const path = this.pathOverrides.get(from)?.get(to);
    if (path !== undefined) return path.model.latencyMs;
    return from.uplink.model.latencyMs + to.downlink.model.latencyMs;
  }

  /** Some socket at `address`, for the delay of a refused connection (the RST comes from it). */
  private anyHostAt(address: string): SimulatedNode | undefined {
    const host = this.publicHosts.get(address);
    if (host === undefined || host instanceof NatBox) return undefined;
    return host.values().next().value;
  }

  private findTcpListener(
    ports: Map<number, SimulatedNode> | undefined,
    port: number,
  ): SimulatedNode | undefined {
    if (ports === undefined) return undefined;
    for (const node of ports.values()) if (node.alive && node.tcpListenPort === port) return node;
    return undefined;
  }

  private connect(node: SimulatedNode, id: ConnectionId, to: Endpoint): void {
    let listener: SimulatedNode | undefined;
    let seenFrom: Endpoint = node.endpoint;
    if (node.nat !== null) {
      listener = this.findTcpListener(this.privateHosts.get(node.nat)!.get(to.address), to.port);
      if (listener === undefined) {
        // Outbound TCP gets its own public port (RFC 5382: NAT behaviour for TCP).
        seenFrom = {
          address: node.nat.publicAddress,
          port: node.nat.allocatePort(node.endpoint.port + 1, this.now),
        };
      }
    }
    if (listener === undefined) {
      const host = this.publicHosts.get(to.address);
      if (!(host instanceof NatBox)) listener = this.findTcpListener(host, to.port);
    }
    const connection: Connection = {
      node,
      id,
      peer: null,
      lastArrival: this.now,
      delayTowardsPeer: this.pathDelay(node, listener ?? this.anyHostAt(to.address) ?? node),
      open: false,
    };
    node.connections.set(id, connection);
    this.record('tcp-connect', { node: node.name, connection: id, to: `${to.address}:${to.port}` });
    if (listener === undefined) {
      // No listener: the SYN is answered by a reset (or nothing); report a refusal.
      this.schedule(this.now + 2 * connection.delayTowardsPeer, () =>
        this.closeLocal(connection, 'connection refused'),
      );
      return;
    }
    const target = listener;
    const synArrival = this.now + connection.delayTowardsPeer;
    connection.lastArrival = synArrival;
    this.schedule(synArrival, () => {
      if (!target.alive || !node.alive || !node.connections.has(id)) {
        this.schedule(this.now + this.pathDelay(target, node), () =>
          this.closeLocal(connection, 'connection refused'),
        );
        return;
      }
      const acceptedId = target.nextAcceptedId++;
      const accepted: Connection = {
        node: target,
        id: acceptedId,
        peer: connection,
        lastArrival: this.now,
        delayTowardsPeer: this.pathDelay(target, node),
        open: true,
      };
      connection.peer = accepted;
      target.connections.set(acceptedId, accepted);
      this.deliver(target, { type: 'connection-open', connection: acceptedId, remote: seenFrom });
      // The SYN-ACK reaches the connector one path delay later.
      const synAckArrival = this.now + accepted.delayTowardsPeer;
      accepted.lastArrival = synAckArrival;
      this.schedule(synAckArrival, () => {
        if (!node.connections.has(id) || !node.alive) return;
        connection.open = true;
        this.deliver(node, { type: 'connection-open', connection: id, remote: to });
      });
    });
  }

  private write(node: SimulatedNode, id: ConnectionId, bytes: Uint8Array): void {
    const connection = node.connections.get(id);
    if (connection === undefined) {
      this.record('tcp-write-ignored', { node: node.name, connection: id });
      return;
    }
    // Copied: a core may reuse its buffer once the output is drained (a socket copies too).
    const copy = bytes.slice();
    node.statistics.tcpBytesSent += copy.length;
    const departure = this.transmit(node, copy.length + TCP_IP_OVERHEAD_BYTES, false);
    const arrival = Math.max(departure + connection.delayTowardsPeer, connection.lastArrival);
    connection.lastArrival = arrival;
    this.schedule(arrival, () => {
      const peer = connection.peer;
      if (peer === null || !peer.node.alive || !peer.node.connections.has(peer.id)) return;
      peer.node.statistics.tcpBytesReceived += copy.length;
      this.deliver(peer.node, { type: 'connection-data', connection: peer.id, bytes: copy });
    });
  }

  private close(node: SimulatedNode, id: ConnectionId, reason: string): void {
    const connection = node.connections.get(id);
    if (connection === undefined) return;
    node.connections.delete(id);
    connection.open = false;
    this.record('tcp-close', { node: node.name, connection: id, reason });
    if (connection.peer !== null) this.closeTowards(connection, connection.peer, 'closed by peer');
  }

  /** The FIN (or RST) reaches the other side after the data already in flight. */
  private closeTowards(from: Connection, to: Connection, reason: string): void {
    const arrival = Math.max(this.now + from.delayTowardsPeer, from.lastArrival);
    from.lastArrival = arrival;
    this.schedule(arrival, () => this.closeLocal(to, reason));
  }

  private closeLocal(connection: Connection, reason: string): void {
    const node = connection.node;
    if (!node.alive || node.connections.get(connection.id) !== connection) return;
    node.connections.delete(connection.id);
    connection.open = false;
    this.deliver(node, { type: 'connection-closed', connection: connection.id, reason });
  }
}
