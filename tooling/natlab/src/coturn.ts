import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COTURN_READY_LINE, coturnStunArguments } from '@p2psp/testkit';
import { NatLabError } from './commands.js';
import type { Lab } from './lab.js';
import { scratchFolder } from './scratch.js';
import type { SiteName } from './topology.js';

/** RFC 5780 section 4.3 / 4.4 behaviours, as turnutils_natdiscovery names them. */
export type Behaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface CoturnDiscovery {
  readonly mapping: Behaviour | 'no-nat' | 'unknown';
  readonly filtering: Behaviour | 'unknown';
  /** Classic name, from the pair (symmetric covers every dependent mapping). */
  readonly classification:
    | 'open-internet'
    | 'full-cone'
    | 'restricted-cone'
    | 'port-restricted-cone'
    | 'symmetric'
    | 'unknown';
  readonly output: string;
}

export const STUN_PORT = 3478;
export const STUN_ALTERNATE_PORT = 3479;

export interface CoturnServer {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts Debian's coturn as a STUN-only RFC 5780 server on the lab's two STUN addresses and
 * two ports (RFC 5780 section 2: CHANGE-REQUEST needs an alternate address and port). Its
 * user database goes to a temporary folder, never to /var/lib/turn.
 */
export async function startCoturn(lab: Lab): Promise<CoturnServer> {
  const folder = mkdtempSync(join(scratchFolder('coturn'), 'server-'));
  const server = lab.spawn(
    'stun',
    'turnserver',
    coturnStunArguments({
      primaryAddress: lab.stunPrimaryAddress,
      alternateAddress: lab.stunAlternateAddress,
      port: STUN_PORT,
      alternatePort: STUN_ALTERNATE_PORT,
      folder,
    }),
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      await server.stop();
      throw new NatLabError(
        'P2PSP_ERR_NATLAB_COTURN_START',
        `turnserver did not start within 15 s; stderr: ${server.stderr.slice(-1000)}`,
      );
    }
    const line = await server.nextLine(remaining);
    if (line.includes(COTURN_READY_LINE)) break;
  }
  return {
    pid: server.pid,
    async stop() {
      await server.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const BEHAVIOURS: Array<[RegExp, Behaviour]> = [
  [/Endpoint Independent/i, 'endpoint-independent'],
  [/Address and Port Dependent/i, 'address-and-port-dependent'],
  [/Address Dependent/i, 'address-dependent'],
];

function behaviourIn(line: string | undefined): Behaviour | 'unknown' {
  if (line === undefined) return 'unknown';
  for (const [pattern, behaviour] of BEHAVIOURS) if (pattern.test(line)) return behaviour;
  return 'unknown';
}

/** Parses `turnutils_natdiscovery -m -f` output (coturn 4.6 wording). */
export function parseNatDiscovery(output: string): CoturnDiscovery {
  const mappingLine = /NAT with .* Mapping!/.exec(output)?.[0];
  const filteringLine = /NAT with .* Filtering!/.exec(output)?.[0];
  const noNat = /No NAT/i.test(output);
  const mapping = noNat && !mappingLine ? 'no-nat' : behaviourIn(mappingLine);
  const filtering = behaviourIn(filteringLine);
  let classification: CoturnDiscovery['classification'] = 'unknown';
  if (mapping === 'no-nat') classification = 'open-internet';
  else if (mapping === 'address-dependent' || mapping === 'address-and-port-dependent') {
    classification = 'symmetric';
  } else if (mapping === 'endpoint-independent') {
    if (filtering === 'endpoint-independent') classification = 'full-cone';
    if (filtering === 'address-dependent') classification = 'restricted-cone';
    if (filtering === 'address-and-port-dependent') classification = 'port-restricted-cone';
  }
  return { mapping, filtering, classification, output };
}

/**
 * Runs coturn's reference client `turnutils_natdiscovery -m -f` in a site's host against an
 * RFC 5780 server at `serverAddress:serverPort` (coturn's or ours; default port 3478).
 */
export async function runNatDiscovery(
  lab: Lab,
  site: SiteName,
  serverAddress: string,
  options: { readonly localAddress?: string; readonly serverPort?: number } = {},
): Promise<CoturnDiscovery> {
  const args = ['-m', '-f'];
  if (options.localAddress) args.push('-L', options.localAddress);
  args.push('-p', String(options.serverPort ?? STUN_PORT), serverAddress);
  const result = await lab.run(`${site}-host`, 'turnutils_natdiscovery', args, {
    timeoutMilliseconds: 60_000,
  });
  return parseNatDiscovery(`${result.stdout}\n${result.stderr}`);
}
