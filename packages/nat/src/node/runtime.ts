import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Endpoint, Instant, Random } from '@p2psp/wire';
import { NatError } from '../nat-error.js';

/** Monotonic milliseconds for the cores (never Date.now: wall clocks jump). */
export function monotonicNow(): Instant {
  return performance.now();
}

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

/**
 * Drives a core's single timer: call `arm(core.pollTimeout())` after every input; when the
 * instant comes, `fire(now)` runs. One setTimeout at a time, unref'd so it never holds the
 * process open by itself.
 */
export class CoreTimer {
  #timer: NodeJS.Timeout | undefined;
  #armedFor: Instant | undefined;
  readonly #fire: (now: Instant) => void;

  constructor(fire: (now: Instant) => void) {
    this.#fire = fire;
  }

  arm(at: Instant | undefined): void {
    if (at === this.#armedFor) return;
    this.cancel();
    if (at === undefined) return;
    this.#armedFor = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#armedFor = undefined;
        this.#fire(monotonicNow());
      },
      Math.max(0, Math.ceil(at - monotonicNow())),
    );
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = undefined;
  }
}

/** Closes a UDP socket; resolves once closed, or at once if it was closed already. */
export function closeQuietly(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: closed before, nothing left to wait for.
      resolve();
    }
  });
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
 * Parses `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 literal, and resolves the host.
 * Throws with a message naming the flag value when it cannot.
 */
export async function resolveEndpoint(text: string, defaultPort: number): Promise<Endpoint> {
  let host = text;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [name, portText] = text.split(':');
    host = name!;
    port = Number(portText);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `"${text}": the port must be 1..65535 (write HOST:PORT, or [IPv6]:PORT)`,
    );
  }
  try {
    const { address } = await lookup(host);
    return { address, port };
  } catch (error) {
    throw new NatError(
      'P2PSP_ERR_NAT_RESOLVE',
      `cannot resolve "${host}" (${(error as Error).message}): give an IP address or a resolvable name`,
    );
  }
}
