/**
 * nftables rulesets that make a Linux router behave like each classic NAT type.
 *
 * Vocabulary (RFC 4787 section 4, RFC 5780 section 4): a NAT *maps* an internal endpoint to an
 * external one (endpoint-independent = the same external port whatever the destination;
 * address-and-port-dependent = a new one per destination) and *filters* inbound packets
 * (endpoint-independent = anyone may send to a mapping; address-dependent = only hosts the
 * internal endpoint sent to; address-and-port-dependent = only the exact endpoints it sent to).
 *
 * | NAT type             | mapping                  | filtering                | how it is built        |
 * |----------------------|--------------------------|--------------------------|------------------------|
 * | full cone            | endpoint-independent     | endpoint-independent     | SNAT + mapping map     |
 * | restricted cone      | endpoint-independent     | address-dependent        | SNAT + map + contacted |
 * | port-restricted cone | endpoint-independent     | address-and-port-dep.    | plain SNAT (conntrack) |
 * | symmetric sequential | address-and-port-dep.    | address-and-port-dep.    | SNAT to numgen ports   |
 * | symmetric random     | address-and-port-dep.    | address-and-port-dep.    | SNAT fully-random      |
 */

export const NAT_TYPES = [
  'full-cone',
  'restricted-cone',
  'port-restricted-cone',
  'symmetric-sequential',
  'symmetric-random',
] as const;

export type NatType = (typeof NAT_TYPES)[number];

export interface NatRulesOptions {
  readonly natType: NatType;
  /** The router's public address (SNAT source). */
  readonly wanAddress: string;
  readonly wanInterface: string;
  readonly lanInterface: string;
  /** The site's private prefix, e.g. `10.0.1.0/24`. */
  readonly lanPrefix: string;
  /**
   * Internal addresses that get their own sequential port counter (symmetric-sequential).
   * A per-host counter is what many home NATs do; it also keeps parallel test runs, each on
   * its own internal address, from consuming each other's predicted ports.
   */
  readonly hostAddresses: readonly string[];
  /** Port step of the sequential NAT (P2PSP's NTS measures it and combines steps by GCD). */
  readonly sequentialStep: number;
  /**
   * 'per-host' (default): one sequential counter per internal address. 'shared': one counter
   * for the whole NAT, so every host's new flows take turns (a busy NAT, where other
   * traffic steals predicted ports).
   */
  readonly sequentialCounter?: 'per-host' | 'shared';
  /** How long an idle cone mapping lives (RFC 4787 REQ-5 asks for at least 2 minutes). */
  readonly mappingTimeoutSeconds: number;
}

/** First port of the sequential NAT's blocks; every block sits below 65536. */
const SEQUENTIAL_FIRST_PORT = 20_000;
const SEQUENTIAL_PORTS_PER_HOST = 1_800;
/** Ports of the shared counter (20000 up to 44000 at most). */
const SHARED_SEQUENTIAL_PORTS = 24_000;

/** The sequential NAT's port for the `flowIndex`-th new flow of host `hostIndex` (documented, tested). */
export function sequentialPort(hostIndex: number, flowIndex: number, step: number): number {
  const slots = Math.floor(SEQUENTIAL_PORTS_PER_HOST / step);
  return SEQUENTIAL_FIRST_PORT + hostIndex * SEQUENTIAL_PORTS_PER_HOST + (flowIndex % slots) * step;
}

export function validateNatRulesOptions(options: NatRulesOptions): void {
  if (!NAT_TYPES.includes(options.natType)) {
    throw new RangeError(
      `natType "${String(options.natType)}" is not one of ${NAT_TYPES.join(', ')}`,
    );
  }
  if (!Number.isInteger(options.sequentialStep) || options.sequentialStep < 1) {
    throw new RangeError(
      `sequentialStep must be a positive integer, got ${options.sequentialStep}; use 1 for a plain counter`,
    );
  }
  if (options.sequentialStep > SEQUENTIAL_PORTS_PER_HOST / 8) {
    throw new RangeError(
      `sequentialStep ${options.sequentialStep} leaves fewer than 8 ports per host; use at most ${SEQUENTIAL_PORTS_PER_HOST / 8}`,
    );
  }
  const lastPort = sequentialPort(options.hostAddresses.length - 1, 0, options.sequentialStep);
  if (lastPort + SEQUENTIAL_PORTS_PER_HOST > 65_536) {
    throw new RangeError(
      `${options.hostAddresses.length} host addresses do not fit the sequential NAT's port blocks; use at most ${Math.floor((65_536 - SEQUENTIAL_FIRST_PORT) / SEQUENTIAL_PORTS_PER_HOST)}`,
    );
  }
}

/** The whole `ip natlab` table for one router, as an `nft -f` script (replaces the old one). */
export function natRules(options: NatRulesOptions): string {
  validateNatRulesOptions(options);
  const { natType, wanAddress, wanInterface: wan, lanInterface: lan, lanPrefix } = options;
  const timeout = `${options.mappingTimeoutSeconds}s`;
  const cone = natType === 'full-cone' || natType === 'restricted-cone';

  const sets: string[] = [];
  const prerouting: string[] = [];
  const postrouting: string[] = [];
  const record: string[] = [];

  if (cone) {
    // External port -> internal address. SNAT keeps the internal port when it is free (the
    // lab gives every socket its own port), so the port is the same on both sides and the map
    // only needs the address. Filled after SNAT from the connection's original direction.
    sets.push(
      `  map cone_mappings { type inet_service : ipv4_addr; flags dynamic, timeout; timeout ${timeout}; }`,
    );
    record.push(
      `    oifname "${wan}" meta l4proto udp ct direction original update @cone_mappings { udp sport : ct original ip saddr }`,
    );
    if (natType === 'restricted-cone') {
      // (external port, remote address) pairs the internal endpoint has sent to: the
      // address-dependent filter of RFC 4787 section 5.
      sets.push(
        `  set contacted { type inet_service . ipv4_addr; flags dynamic, timeout; timeout ${timeout}; }`,
      );
      record.push(
        `    oifname "${wan}" meta l4proto udp ct direction original update @contacted { udp sport . ip daddr }`,
      );
      prerouting.push(
        `    iifname "${wan}" meta l4proto udp udp dport . ip saddr @contacted dnat ip to udp dport map @cone_mappings`,
      );
    } else {
      // Full cone: anyone may reach an existing mapping (endpoint-independent filtering);
      // ports without a mapping stay closed.
      prerouting.push(
        `    iifname "${wan}" meta l4proto udp dnat ip to udp dport map @cone_mappings`,
      );
    }
  }

  if (natType === 'symmetric-sequential' && options.sequentialCounter === 'shared') {
    const slots = Math.min(Math.floor(SHARED_SEQUENTIAL_PORTS / options.sequentialStep), 4_000);
    const entries = Array.from(
      { length: slots },
      (_, flowIndex) =>
        `${flowIndex} : ${SEQUENTIAL_FIRST_PORT + flowIndex * options.sequentialStep}`,
    );
    postrouting.push(
      `    oifname "${wan}" meta l4proto udp ip saddr ${lanPrefix} snat ip to ${wanAddress} : numgen inc mod ${slots} map { ${entries.join(', ')} }`,
    );
  } else if (natType === 'symmetric-sequential') {
    // Linux has no sequential allocator: each new flow (the nat chain sees only the first
    // packet of a connection) takes the next entry of a numgen counter, one counter per host.
    options.hostAddresses.forEach((address, hostIndex) => {
      const slots = Math.min(Math.floor(SEQUENTIAL_PORTS_PER_HOST / options.sequentialStep), 600);
      const entries = Array.from(
        { length: slots },
        (_, flowIndex) =>
          `${flowIndex} : ${sequentialPort(hostIndex, flowIndex, options.sequentialStep)}`,
      );
      postrouting.push(
        `    oifname "${wan}" meta l4proto udp ip saddr ${address} snat ip to ${wanAddress} : numgen inc mod ${slots} map { ${entries.join(', ')} }`,
      );
    });
  }
  if (natType === 'symmetric-random') {
    // A random port for every new flow, so every destination sees another mapping.
    postrouting.push(
      `    oifname "${wan}" meta l4proto udp ip saddr ${lanPrefix} snat ip to ${wanAddress} random,fully-random`,
    );
  }
  // Everything else (and the cone types): plain SNAT, which keeps the source port when it is
  // free. With conntrack answering only the exact remote endpoint, that is a port-restricted
  // cone: endpoint-independent mapping, address-and-port-dependent filtering.
  postrouting.push(`    oifname "${wan}" ip saddr ${lanPrefix} snat ip to ${wanAddress}`);

  return [
    'table ip natlab',
    'delete table ip natlab',
    'table ip natlab {',
    ...sets,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...prerouting,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...postrouting,
    '  }',
    '  chain record {',
    // After srcnat, so udp sport is already the external port.
    '    type filter hook postrouting priority srcnat + 10; policy accept;',
    ...record,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    // Inbound traffic reaches the site only as a reply or through a cone mapping (DNAT).
    `    iifname "${wan}" oifname "${lan}" ct state established,related accept`,
    `    iifname "${wan}" oifname "${lan}" ct status dnat accept`,
    `    iifname "${wan}" oifname "${lan}" drop`,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    // Unsolicited packets to the router are dropped silently, like a NAT without a mapping.
    // Dropping before conntrack confirms them matters: a confirmed entry for an early hello
    // from a peer would take the tuple SNAT needs later and break port preservation.
    `    iifname "${wan}" ct state established,related accept`,
    `    iifname "${wan}" drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}
