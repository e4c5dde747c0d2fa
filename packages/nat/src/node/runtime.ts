import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import {
  EndpointSyntaxError,
  lookupEndpoint,
  type ParsedEndpoint,
  parseEndpoint,
} from '@p2psp/host';
import type { Endpoint, Random } from '@p2psp/wire';
import { NatError } from '../nat-error.js';

/**
 * A `Random` backed by the OS CSPRNG: STUN transaction ids and punch nonces should not be
 * guessable by off-path attackers (RFC 8489 §5).
 */
export function cryptoRandom(): Random {
  let pool = randomBytes(0);
  let offset = 0;
  return {
    next(): number {
      if (offset + 4 > pool.length) {
        pool = randomBytes(1024);
        offset = 0;
      }
      const value = pool.readUInt32BE(offset);
      offset += 4;
      return value / 4294967296;
    },
  };
}

export function endpointOf(rinfo: { address: string; port: number }): Endpoint {
  return { address: rinfo.address, port: rinfo.port };
}

export function socketEndpoint(socket: Socket): Endpoint {
  const { address, port } = socket.address();
  return { address, port };
}

/** Every address of this host (so a socket bound to 0.0.0.0 recognises its own mapping). */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined)
    .map((entry) => entry.address);
}

/**
 * Parses `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 literal (`@p2psp/host`'s
 * `parseEndpoint`) and resolves the host. Throws a `NatError` naming `what` (a flag) when it
 * cannot: `P2PSP_ERR_NAT_OPTION` for the text, `P2PSP_ERR_NAT_RESOLVE` for the name.
 */
export async function resolveEndpoint(
  text: string,
  defaultPort: number,
  what = 'STUN server',
): Promise<Endpoint> {
  let parsed: ParsedEndpoint;
  try {
    parsed = parseEndpoint(text, what, { defaultPort });
  } catch (error) {
    if (!(error instanceof EndpointSyntaxError)) throw error;
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `${what} "${text}": the port must be 1..65535 and the host a name or an IP literal (write HOST:PORT, or [IPv6]:PORT)`,
      { cause: error },
    );
  }
  try {
    return await lookupEndpoint(parsed);
  } catch (error) {
    throw new NatError(
      'P2PSP_ERR_NAT_RESOLVE',
      `cannot resolve "${parsed.host}" (${(error as Error).message}): give an IP address or a resolvable name`,
    );
  }
}
