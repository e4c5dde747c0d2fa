import type { Endpoint, NatType, Random } from '@p2psp/wire';
import type { NatBehaviour } from './nat-classification.js';
import type { PortAllocation } from './port-allocation.js';

/**
 * A model of a NAT box (RFC 4787): mapping, filtering and port allocation, as behaviours
 * the discovery measures (`NatDiscoveryResult`), plus mapping lifetime and hairpinning.
 * Translation tables only, no sockets: a simulator routes datagrams through it. Pure and
 * deterministic given its Random.
 */

/** A behaviour a real NAT has; `unknown` is only ever a measurement. */
export type KnownNatBehaviour = Exclude<NatBehaviour, 'unknown'>;
export type KnownPortAllocation = Exclude<PortAllocation, 'unknown'>;

/** The wire NAT types a box can be (`open` and `udp-blocked` are no NAT box). */
export type NatBoxType = Exclude<NatType, 'unknown' | 'open' | 'udp-blocked'>;

export interface NatBoxBehaviour {
  readonly mapping: KnownNatBehaviour;
  readonly filtering: KnownNatBehaviour;
  readonly allocation: KnownPortAllocation;
}

/**
 * Each NAT type as a box implements it: the inverse of `classifyNat` (the README table).
 * Cones preserve ports, as most home NATs do.
 */
export const NAT_BOX_PRESETS = {
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
} as const satisfies Record<NatBoxType, NatBoxBehaviour>;

export interface NatBoxOptions extends NatBoxBehaviour {
  readonly publicAddress: string;
  /** Increment between consecutive sequential allocations (P2PSP NTS measures it). */
  readonly portStep: number;
  /** First port for sequential allocation (and the fallback of preserving). */
  readonly firstPort: number;
  /** Idle lifetime of a UDP mapping: RFC 4787 REQ-5 says at least 2 minutes. */
  readonly mappingLifetimeMs: number;
  /** Deliver datagrams sent to the NAT's own public address back inside (RFC 4787 REQ-9). */
  readonly hairpinning: boolean;
}

/** One UDP mapping: an internal endpoint bound to a public port. */
export interface NatMapping {
  readonly publicEndpoint: Endpoint;
  readonly internal: Endpoint;
  /** Remote addresses (and their ports) this mapping has sent to: the filter's permissions. */
  readonly permissions: Map<string, Set<number>>;
  lastUsed: number;
}

const LOWEST_RANDOM_PORT = 1024;
const PORT_COUNT = 65536;

export class NatBox {
  readonly options: NatBoxOptions;
  /** Counters for tests and metrics. */
  readonly stats = { mappingsCreated: 0, inboundFiltered: 0, inboundNoMapping: 0 };
  private readonly byKey = new Map<string, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();
  private nextPort: number;

  constructor(
    options: NatBoxOptions,
    private readonly random: Random,
  ) {
    this.options = options;
    this.nextPort = options.firstPort;
  }

  get publicAddress(): string {
    return this.options.publicAddress;
  }

  /** Mappings currently alive (expired ones are removed lazily). */
  get mappingCount(): number {
    return this.byPort.size;
  }

  /**
   * An internal endpoint sends to `destination` at `now`: find or create its mapping,
   * refresh it (outbound refresh, RFC 4787 REQ-6) and record the filter permission.
   * Returns the public endpoint the destination will see.
   */
  outbound(internal: Endpoint, destination: Endpoint, now: number): Endpoint {
    const key = this.mappingKey(internal, destination);
    let mapping = this.byKey.get(key);
    if (mapping !== undefined && now - mapping.lastUsed > this.options.mappingLifetimeMs) {
      this.remove(key, mapping);
      mapping = undefined;
    }
    if (mapping === undefined) {
      const port = this.allocatePort(internal.port, now);
      mapping = {
        publicEndpoint: { address: this.options.publicAddress, port },
        internal,
        permissions: new Map(),
        lastUsed: now,
      };
      this.byKey.set(key, mapping);
      this.byPort.set(port, mapping);
      this.stats.mappingsCreated += 1;
    }
    mapping.lastUsed = now;
    let ports = mapping.permissions.get(destination.address);
    if (ports === undefined) {
      ports = new Set();
      mapping.permissions.set(destination.address, ports);
    }
    ports.add(destination.port);
    return mapping.publicEndpoint;
  }

  /** The live mapping behind a public port, without filtering (routing needs the host). */
  lookup(publicPort: number, now: number): NatMapping | undefined {
    const mapping = this.byPort.get(publicPort);
    if (mapping === undefined) return undefined;
    if (now - mapping.lastUsed > this.options.mappingLifetimeMs) {
      this.remove(this.mappingKeyOf(mapping), mapping);
      return undefined;
    }
    return mapping;
  }

  /**
   * A datagram from `remote` reaches public port `publicPort` at `now`: the internal
   * endpoint it goes to, or null when there is no mapping or the filter drops it
   * (RFC 4787 section 5).
   */
  inbound(publicPort: number, remote: Endpoint, now: number): Endpoint | null {
    const mapping = this.lookup(publicPort, now);
    if (mapping === undefined) {
      this.stats.inboundNoMapping += 1;
      return null;
    }
    if (!this.admits(mapping, remote)) {
      this.stats.inboundFiltered += 1;
      return null;
    }
    return mapping.internal;
  }

  private admits(mapping: NatMapping, remote: Endpoint): boolean {
    switch (this.options.filtering) {
      case 'endpoint-independent':
        return true;
      case 'address-dependent':
        return mapping.permissions.has(remote.address);
      case 'address-and-port-dependent':
        return mapping.permissions.get(remote.address)?.has(remote.port) ?? false;
    }
  }

  private mappingKey(internal: Endpoint, destination: Endpoint): string {
    const base = `${internal.address}:${internal.port}`;
    switch (this.options.mapping) {
      case 'endpoint-independent':
        return base;
      case 'address-dependent':
        return `${base}>${destination.address}`;
      case 'address-and-port-dependent':
        return `${base}>${destination.address}:${destination.port}`;
    }
  }

  private mappingKeyOf(mapping: NatMapping): string {
    for (const [key, value] of this.byKey) if (value === mapping) return key;
    return '';
  }

  private remove(key: string, mapping: NatMapping): void {
    this.byKey.delete(key);
    this.byPort.delete(mapping.publicEndpoint.port);
  }

  /** RFC 4787 section 4.2.1; also used for TCP connections leaving through this NAT. */
  allocatePort(internalPort: number, now: number): number {
    // An expired mapping's port is free again (`lookup` removes it).
    const free = (port: number): boolean => this.lookup(port, now) === undefined;
    if (this.options.allocation === 'preserving' && free(internalPort)) return internalPort;
    if (this.options.allocation === 'random') {
      // Bounded: the table can never hold all 64512 ports in a simulation.
      for (let attempt = 0; attempt < 100_000; attempt += 1) {
        const port =
          LOWEST_RANDOM_PORT + Math.floor(this.random.next() * (PORT_COUNT - LOWEST_RANDOM_PORT));
        if (free(port)) return port;
      }
      throw new Error(`NAT ${this.options.publicAddress} has no free port left`);
    }
    // Sequential (and preserving when the internal port is taken): next port, wrapping.
    for (let attempt = 0; attempt < PORT_COUNT; attempt += 1) {
      const port = this.nextPort;
      this.nextPort += this.options.portStep;
      if (this.nextPort >= PORT_COUNT)
        this.nextPort = LOWEST_RANDOM_PORT + (this.nextPort % PORT_COUNT);
      if (free(port)) return port;
    }
    throw new Error(`NAT ${this.options.publicAddress} has no free port left`);
  }
}
