import type {
  ConnectionId,
  CoreEvent,
  CoreInput,
  Endpoint,
  Instant,
  SansIoCore,
} from '@p2psp/wire';
import { formatEndpoint } from '@p2psp/wire';

/**
 * A tiny in-memory network for core tests (quinn-style): cores exchange datagrams and TCP
 * bytes through a priority queue of deliveries on a virtual clock; nothing sleeps. It is
 * deliberately small: the simulator (tooling/netsim, issue 4) is the full-featured one.
 */

export interface NodeRecord {
  readonly name: string;
  readonly core: SansIoCore;
  readonly udp: Endpoint;
  /** Accepts TCP connections on `udp` (same address and port), like the source. */
  readonly listens: boolean;
  readonly plays: { chunkNumber: number; payload: Uint8Array | null; at: Instant }[];
  readonly headers: { mediaType: string; header: Uint8Array }[];
  readonly events: (CoreEvent & { at: Instant })[];
  /** Every datagram this node sent, with its time (upload accounting and pacing checks). */
  readonly sent: { at: Instant; to: Endpoint; bytes: Uint8Array }[];
  readonly closes: { connection: ConnectionId; reason: string; at: Instant }[];
  stopped: { reason: string; at: Instant } | null;
  uploadBytes: number;
  /** False after `crash`: it receives nothing and its timers never fire. */
  alive: boolean;
}

interface Delivery {
  readonly at: Instant;
  readonly sequence: number;
  readonly run: () => void;
}

interface ConnectionEnd {
  readonly node: NodeRecord;
  readonly connection: ConnectionId;
  other: ConnectionEnd | null;
  closed: boolean;
}

export interface NetworkOptions {
  /** One-way latency of every datagram and TCP segment. Default 1 ms. */
  readonly latencyMillis?: number;
  /** Return true to lose a datagram (TCP is reliable here). */
  readonly lose?: (from: NodeRecord, to: Endpoint, bytes: Uint8Array) => boolean;
  /**
   * Extra delay of each datagram, uniform in [0, jitter) from `random` (datagrams may then
   * arrive out of order; TCP bytes never do). Default 0.
   */
  readonly jitterMillis?: number;
  /** Randomness for the jitter (a `createRandom(seed)`). Required with `jitterMillis`. */
  readonly random?: { next(): number };
}

export class InMemoryNetwork {
  now: Instant = 0;
  readonly nodes: NodeRecord[] = [];
  /** Datagrams sent to an endpoint nobody has. */
  undeliverable = 0;
  readonly #byEndpoint = new Map<string, NodeRecord>();
  readonly #queue: Delivery[] = [];
  readonly #connections = new Map<string, ConnectionEnd>();
  readonly #latency: number;
  readonly #lose: NetworkOptions['lose'];
  readonly #jitter: number;
  readonly #random: { next(): number } | undefined;
  #sequence = 0;
  #nextServerConnection = 1;
  #nextEphemeralPort = 40000;

  constructor(options: NetworkOptions = {}) {
    this.#latency = options.latencyMillis ?? 1;
    this.#lose = options.lose;
    this.#jitter = options.jitterMillis ?? 0;
    this.#random = options.random;
    if (this.#jitter > 0 && this.#random === undefined) {
      throw new Error('InMemoryNetwork: jitterMillis needs a random (createRandom(seed))');
    }
  }

  add(name: string, core: SansIoCore, udp: Endpoint, listens = false): NodeRecord {
    const node: NodeRecord = {
      name,
      core,
      udp,
      listens,
      plays: [],
      headers: [],
      events: [],
      sent: [],
      closes: [],
      stopped: null,
      uploadBytes: 0,
      alive: true,
    };
    this.nodes.push(node);
    this.#byEndpoint.set(formatEndpoint(udp), node);
    this.#drain(node);
    return node;
  }

  /** Feeds an input to a node at `at` (default now). */
  schedule(node: NodeRecord, input: CoreInput, at: Instant = this.now): void {
    this.#push(at, () => this.#handle(node, input));
  }

  /** Sends raw bytes as a datagram from `from` (any endpoint, member or not) to a node. */
  inject(from: Endpoint, to: NodeRecord, bytes: Uint8Array, at: Instant = this.now): void {
    this.schedule(to, { type: 'datagram', from, bytes }, at);
  }

  /** The node vanishes without a word (kill -9): nothing in, nothing out, no timers. */
  crash(node: NodeRecord): void {
    node.alive = false;
  }

  /** Runs deliveries and timers until the virtual clock reaches `until`. */
  runUntil(until: Instant): void {
    // A core that keeps asking for a timeout it does not consume would spin forever.
    for (let steps = 0; ; steps++) {
      if (steps > 5_000_000) throw new Error(`no progress by ${this.now} ms: a core spins`);
      const nextDelivery = this.#queue[0]?.at ?? Number.POSITIVE_INFINITY;
      let nextTimer = Number.POSITIVE_INFINITY;
      for (const node of this.nodes) {
        if (!node.alive) continue;
        const timeout = node.core.pollTimeout();
        if (timeout !== undefined && timeout < nextTimer) nextTimer = timeout;
      }
      const next = Math.min(nextDelivery, nextTimer);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (nextTimer <= nextDelivery) {
        for (const node of this.nodes) {
          if (!node.alive) continue;
          const timeout = node.core.pollTimeout();
          if (timeout !== undefined && timeout <= this.now) {
            node.core.handleTimeout(this.now);
            this.#drain(node);
          }
        }
      } else {
        this.#pop().run();
      }
    }
    this.now = until;
  }

  node(name: string): NodeRecord {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  #handle(node: NodeRecord, input: CoreInput): void {
    if (!node.alive) return;
    node.core.handle(input, this.now);
    this.#drain(node);
  }

  #drain(node: NodeRecord): void {
    for (
      let output = node.core.pollOutput();
      output !== undefined;
      output = node.core.pollOutput()
    ) {
      switch (output.type) {
        case 'send-datagram': {
          node.uploadBytes += output.bytes.length;
          node.sent.push({ at: this.now, to: output.to, bytes: output.bytes });
          const target = this.#byEndpoint.get(formatEndpoint(output.to));
          if (target === undefined) {
            this.undeliverable++;
            break;
          }
          if (this.#lose?.(node, output.to, output.bytes)) break;
          const input: CoreInput = { type: 'datagram', from: node.udp, bytes: output.bytes };
          const jitter = this.#jitter > 0 ? this.#random!.next() * this.#jitter : 0;
          this.#push(this.now + this.#latency + jitter, () => this.#handle(target, input));
          break;
        }
        case 'connect':
          this.#connect(node, output.connection, output.to);
          break;
        case 'write': {
          const end = this.#connections.get(key(node, output.connection));
          if (end === undefined || end.closed || end.other === null) break;
          const other = end.other;
          const bytes = output.bytes;
          this.#push(this.now + this.#latency, () => {
            if (!other.closed) {
              this.#handle(other.node, {
                type: 'connection-data',
                connection: other.connection,
                bytes,
              });
            }
          });
          break;
        }
        case 'close': {
          node.closes.push({ connection: output.connection, reason: output.reason, at: this.now });
          const end = this.#connections.get(key(node, output.connection));
          if (end === undefined || end.closed) break;
          end.closed = true;
          const other = end.other;
          if (other === null) break;
          this.#push(this.now + this.#latency, () => {
            if (other.closed) return;
            other.closed = true;
            this.#handle(other.node, {
              type: 'connection-closed',
              connection: other.connection,
              reason: 'closed by the remote',
            });
          });
          break;
        }
        case 'stream-header':
          node.headers.push({ mediaType: output.mediaType, header: output.header });
          break;
        case 'play':
          node.plays.push({
            chunkNumber: output.chunkNumber,
            payload: output.payload,
            at: this.now,
          });
          break;
        case 'event':
          node.events.push({ ...output.event, at: this.now });
          break;
        case 'stopped':
          node.stopped = { reason: output.reason, at: this.now };
          break;
      }
    }
  }

  #connect(client: NodeRecord, connection: ConnectionId, to: Endpoint): void {
    const server = this.#byEndpoint.get(formatEndpoint(to));
    const clientEnd: ConnectionEnd = { node: client, connection, other: null, closed: false };
    this.#connections.set(key(client, connection), clientEnd);
    if (server === undefined || !server.listens) {
      this.#push(this.now + this.#latency, () => {
        clientEnd.closed = true;
        this.#handle(client, { type: 'connection-closed', connection, reason: 'ECONNREFUSED' });
      });
      return;
    }
    const serverConnection = this.#nextServerConnection++;
    const serverEnd: ConnectionEnd = {
      node: server,
      connection: serverConnection,
      other: clientEnd,
      closed: false,
    };
    clientEnd.other = serverEnd;
    this.#connections.set(key(server, serverConnection), serverEnd);
    const remote = { address: client.udp.address, port: this.#nextEphemeralPort++ };
    this.#push(this.now + this.#latency, () => {
      this.#handle(server, { type: 'connection-open', connection: serverConnection, remote });
      this.#handle(client, { type: 'connection-open', connection, remote: to });
    });
  }

  #push(at: Instant, run: () => void): void {
    // Binary heap ordered by (at, sequence): equal times keep their sending order (FIFO).
    const queue = this.#queue;
    const item = { at, sequence: this.#sequence++, run };
    queue.push(item);
    let index = queue.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(queue[index]!, queue[parent]!)) break;
      [queue[index], queue[parent]] = [queue[parent]!, queue[index]!];
      index = parent;
    }
  }

  #pop(): Delivery {
    const queue = this.#queue;
    const top = queue[0]!;
    const last = queue.pop()!;
    if (queue.length > 0) {
      queue[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < queue.length && before(queue[left]!, queue[smallest]!)) smallest = left;
        if (right < queue.length && before(queue[right]!, queue[smallest]!)) smallest = right;
        if (smallest === index) break;
        [queue[index], queue[smallest]] = [queue[smallest]!, queue[index]!];
        index = smallest;
      }
    }
    return top;
  }
}

function before(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.sequence < b.sequence);
}

function key(node: NodeRecord, connection: ConnectionId): string {
  return `${node.name}#${connection}`;
}

/** Deterministic pseudo-random stream bytes, so byte comparisons mean something. */
export function streamBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

/** Schedules `stream` into the source's ingest in pieces of `pieceBytes` every `periodMillis`. */
export function scheduleIngest(
  network: InMemoryNetwork,
  source: NodeRecord,
  stream: Uint8Array,
  options: { start: Instant; pieceBytes: number; periodMillis: number; end?: boolean },
): Instant {
  let at = options.start;
  for (let offset = 0; offset < stream.length; offset += options.pieceBytes) {
    const bytes = stream.subarray(offset, Math.min(stream.length, offset + options.pieceBytes));
    network.schedule(source, { type: 'ingest-data', bytes }, at);
    at += options.periodMillis;
  }
  if (options.end)
    network.schedule(source, { type: 'ingest-end', reason: 'end of test stream' }, at);
  return at;
}
