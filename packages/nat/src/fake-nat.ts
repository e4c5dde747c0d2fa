import type { Endpoint, Instant, Random } from '@p2psp/wire';
import { formatEndpoint } from '@p2psp/wire';
import type { NatBehaviour } from './nat-classification.js';

/**
 * An in-memory NAT and network for tests and the simulator: a model of RFC 4787 mapping,
 * filtering and port allocation behaviours, and a virtual-time packet network that routes
 * datagrams through them. Deterministic given its Random.
 */

export type FakeBehaviour = Exclude<NatBehaviour, 'unknown'>;
export type FakeAllocation = 'preserving' | 'sequential' | 'random';

export interface FakeNatBehaviour {
  readonly mapping: FakeBehaviour;
  readonly filtering: FakeBehaviour;
  readonly allocation: FakeAllocation;
  /** Port step for sequential allocation (and the fallback of preserving). Default 1. */
  readonly step?: number;
}

/** The five classic types, as NAT boxes usually implement them. */
export const FAKE_NAT_PRESETS = {
  'full-cone': {
    mapping: 'endpoint-independent',
    filtering: 'endpoint-independent',
    allocation: 'preserving',
  },
  'restricted-cone': {
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
    allocation: 'preserving',
  },
  'port-restricted-cone': {
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    allocation: 'preserving',
  },
  'symmetric-preserving': {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    allocation: 'preserving',
  },
  'symmetric-sequential': {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    allocation: 'sequential',
  },
  'symmetric-random': {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    allocation: 'random',
  },
} as const satisfies Record<string, FakeNatBehaviour>;

export interface FakeNatOptions {
  readonly publicAddress: string;
  readonly behaviour: FakeNatBehaviour;
  readonly random: Random;
  /** Where sequential allocation starts. Default 20000. */
  readonly firstPort?: number;
}

interface FakeMapping {
  readonly privateEndpoint: Endpoint;
  readonly publicPort: number;
  readonly contactedAddresses: Set<string>;
  readonly contactedEndpoints: Set<string>;
}

export class FakeNat {
  readonly publicAddress: string;
  readonly behaviour: FakeNatBehaviour;
  readonly #random: Random;
  readonly #byKey = new Map<string, FakeMapping>();
  readonly #byPublicPort = new Map<number, FakeMapping>();
  #nextPort: number;
  /** Inbound datagrams the filter refused. */
  filtered = 0;

  constructor(options: FakeNatOptions) {
    this.publicAddress = options.publicAddress;
    this.behaviour = options.behaviour;
    this.#random = options.random;
    this.#nextPort = options.firstPort ?? 20000;
  }

  /** Translates an outgoing datagram's source; creates the mapping if needed. */
  outbound(from: Endpoint, to: Endpoint): Endpoint {
    const key = this.#mappingKey(from, to);
    let mapping = this.#byKey.get(key);
    if (!mapping) {
      mapping = {
        privateEndpoint: from,
        publicPort: this.#allocate(from.port),
        contactedAddresses: new Set(),
        contactedEndpoints: new Set(),
      };
      this.#byKey.set(key, mapping);
      this.#byPublicPort.set(mapping.publicPort, mapping);
    }
    mapping.contactedAddresses.add(to.address);
    mapping.contactedEndpoints.add(formatEndpoint(to));
    return { address: this.publicAddress, port: mapping.publicPort };
  }

  /** The private destination of an incoming datagram, or null when mapping or filter refuse. */
  inbound(publicPort: number, from: Endpoint): Endpoint | null {
    const mapping = this.#byPublicPort.get(publicPort);
    if (!mapping) {
      this.filtered++;
      return null;
    }
    const allowed =
      this.behaviour.filtering === 'endpoint-independent' ||
      (this.behaviour.filtering === 'address-dependent' &&
        mapping.contactedAddresses.has(from.address)) ||
      (this.behaviour.filtering === 'address-and-port-dependent' &&
        mapping.contactedEndpoints.has(formatEndpoint(from)));
    if (!allowed) {
      this.filtered++;
      return null;
    }
    return mapping.privateEndpoint;
  }

  get mappingCount(): number {
    return this.#byKey.size;
  }

  #mappingKey(from: Endpoint, to: Endpoint): string {
    const source = formatEndpoint(from);
    switch (this.behaviour.mapping) {
      case 'endpoint-independent':
        return source;
      case 'address-dependent':
        return `${source}>${to.address}`;
      case 'address-and-port-dependent':
        return `${source}>${formatEndpoint(to)}`;
    }
  }

  #allocate(localPort: number): number {
    const step = this.behaviour.step ?? 1;
    const free = (port: number) => port > 0 && port <= 0xffff && !this.#byPublicPort.has(port);
    if (this.behaviour.allocation === 'preserving' && free(localPort)) return localPort;
    if (this.behaviour.allocation === 'random') {
      for (;;) {
        const port = 1024 + Math.floor(this.#random.next() * (0x10000 - 1024));
        if (free(port)) return port;
      }
    }
    while (!free(this.#nextPort)) this.#nextPort += step;
    const port = this.#nextPort;
    this.#nextPort += step;
    return port;
  }
}

export interface FakePacket {
  /** The sender's own endpoint (private when behind a NAT). */
  readonly from: Endpoint;
  /** The source as seen on the public side (after the sender's NAT). */
  readonly publicFrom: Endpoint;
  readonly to: Endpoint;
  readonly bytes: Uint8Array;
}

export type FakeReceiver = (bytes: Uint8Array, from: Endpoint, now: Instant) => void;

/** A participant with timers (a sans-IO core wrapped so `handleTimeout` also drains outputs). */
export interface FakeTimerParticipant {
  pollTimeout(): Instant | undefined;
  handleTimeout(now: Instant): void;
}

/** A sans-IO core's timer on the fake network, with `drain` (its outputs) after each timeout. */
export function timerParticipant(
  core: FakeTimerParticipant,
  drain: () => void,
): FakeTimerParticipant {
  return {
    pollTimeout: () => core.pollTimeout(),
    handleTimeout: (now) => {
      core.handleTimeout(now);
      drain();
    },
  };
}

export interface FakeNetworkOptions {
  /** One-way delay in ms. Default 10. */
  readonly latency?: number;
  /** Random loss of every datagram with this probability, drawn from `random`. */
  readonly loss?: { readonly rate: number; readonly random: Random };
}

interface Scheduled {
  readonly at: Instant;
  readonly sequence: number;
  readonly packet: FakePacket;
}

export class FakeNetwork {
  now: Instant = 0;
  readonly #latency: number;
  readonly #nats: { nat: FakeNat; privatePrefix: string }[] = [];
  readonly #receivers = new Map<string, FakeReceiver>();
  readonly #queue: Scheduled[] = [];
  readonly #drops: { predicate: (packet: FakePacket) => boolean; remaining: number }[] = [];
  readonly #loss: FakeNetworkOptions['loss'];
  #sequence = 0;
  delivered = 0;
  dropped = 0;

  constructor(options: FakeNetworkOptions = {}) {
    this.#latency = options.latency ?? 10;
    this.#loss = options.loss;
  }

  /** Hosts whose address starts with `privatePrefix` sit behind `nat`. */
  addNat(nat: FakeNat, privatePrefix: string): void {
    this.#nats.push({ nat, privatePrefix });
  }

  bind(endpoint: Endpoint, receiver: FakeReceiver): void {
    this.#receivers.set(formatEndpoint(endpoint), receiver);
  }

  /** Loses the next `count` datagrams matching `predicate` (after NAT translation on the way out). */
  dropWhere(predicate: (packet: FakePacket) => boolean, count = 1): void {
    this.#drops.push({ predicate, remaining: count });
  }

  send(from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    const senderNat = this.#natOf(from.address);
    const receiverNat = this.#natOf(to.address);
    // Hairpinning is out of scope: two hosts behind one NAT talk directly.
    const publicFrom = senderNat && senderNat !== receiverNat ? senderNat.outbound(from, to) : from;
    const packet: FakePacket = { from, publicFrom, to, bytes };
    const drop = this.#drops.find((rule) => rule.remaining > 0 && rule.predicate(packet));
    if (drop) {
      drop.remaining--;
      this.dropped++;
      return;
    }
    if (this.#loss && this.#loss.random.next() < this.#loss.rate) {
      this.dropped++;
      return;
    }
    this.#queue.push({ at: this.now + this.#latency, sequence: this.#sequence++, packet });
    this.#queue.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  }

  /**
   * Advances virtual time, delivering datagrams and firing participants' timers in order,
   * until `until` or until `done()` holds. Returns the time reached.
   */
  run(
    participants: readonly FakeTimerParticipant[],
    until: Instant,
    done: () => boolean = () => false,
  ): Instant {
    while (!done()) {
      let next = this.#queue[0]?.at;
      for (const participant of participants) {
        const timeout = participant.pollTimeout();
        if (timeout !== undefined && (next === undefined || timeout < next)) next = timeout;
      }
      if (next === undefined || next > until) break;
      this.now = Math.max(this.now, next);
      while (this.#queue[0] && this.#queue[0].at <= this.now)
        this.#deliver(this.#queue.shift()!.packet);
      for (const participant of participants) {
        const timeout = participant.pollTimeout();
        if (timeout !== undefined && timeout <= this.now) participant.handleTimeout(this.now);
      }
    }
    return this.now;
  }

  #deliver(packet: FakePacket): void {
    let destination: Endpoint | null = packet.to;
    const publicNat = this.#nats.find(({ nat }) => nat.publicAddress === packet.to.address)?.nat;
    if (publicNat) destination = publicNat.inbound(packet.to.port, packet.publicFrom);
    const receiver = destination && this.#receivers.get(formatEndpoint(destination));
    if (!receiver) {
      this.dropped++;
      return;
    }
    this.delivered++;
    receiver(packet.bytes, packet.publicFrom, this.now);
  }

  #natOf(address: string): FakeNat | undefined {
    return this.#nats.find(({ privatePrefix }) => address.startsWith(privatePrefix))?.nat;
  }
}
