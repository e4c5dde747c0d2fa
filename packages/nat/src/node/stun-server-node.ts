import { createSocket, type Socket } from 'node:dgram';
import { bindUdp, closeQuietly, errorCode, sendQuietly } from '@p2psp/host';
import { type Endpoint, formatEndpoint } from '@p2psp/wire';
import { NatError } from '../nat-error.js';
import { StunServerCore, type StunServerCounters } from '../stun-server.js';
import { endpointOf } from './runtime.js';

export interface StartStunServerOptions {
  /** A1: the primary address to bind. */
  readonly address: string;
  /** A2: a second address of this host; turns on RFC 5780 (four sockets). */
  readonly alternateAddress?: string;
  /** P1, default 3478 (RFC 8489 §18.6). 0 picks a free port (tests). */
  readonly port?: number;
  /** P2, default 3479; used only with alternateAddress. 0 picks a free port (tests). */
  readonly alternatePort?: number;
  readonly software?: string;
}

export interface RunningStunServer {
  /** Bound endpoints: [A1:P1] or [A1:P1, A1:P2, A2:P1, A2:P2]. */
  readonly endpoints: readonly Endpoint[];
  readonly counters: StunServerCounters;
  close(): Promise<void>;
}

const RANDOM_PORT_ATTEMPTS = 20;

/**
 * Runs the STUN server on real sockets. With port 0 in RFC 5780 mode, the same two port
 * numbers must be free on both addresses: random pairs are tried a bounded number of times.
 */
export async function startStunServer(options: StartStunServerOptions): Promise<RunningStunServer> {
  const port = options.port ?? 3478;
  const alternatePort = options.alternatePort ?? 3479;
  // Check the configuration before binding anything (the core names the mistake).
  new StunServerCore({
    primary: { address: options.address, port: port || 1 },
    ...(options.alternateAddress !== undefined
      ? {
          alternateAddress: options.alternateAddress,
          alternatePort: alternatePort || (port || 1) + 1,
        }
      : {}),
  });
  if (options.alternateAddress === undefined || (port !== 0 && alternatePort !== 0)) {
    return startOnPorts(options, port, alternatePort);
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < RANDOM_PORT_ATTEMPTS; attempt++) {
    const first = port || 20000 + Math.floor(Math.random() * 40000);
    const second = alternatePort || (first === 65535 ? first - 1 : first + 1);
    try {
      return await startOnPorts(options, first, second);
    } catch (error) {
      if (((error as NatError).cause as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE')
        throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnPorts(
  options: StartStunServerOptions,
  port: number,
  alternatePort: number,
): Promise<RunningStunServer> {
  const sockets: Socket[] = [];
  const closeAll = async () => {
    await Promise.all(sockets.map(closeQuietly));
  };
  try {
    const plan: Endpoint[] =
      options.alternateAddress === undefined
        ? [{ address: options.address, port }]
        : [
            { address: options.address, port },
            { address: options.address, port: alternatePort },
            { address: options.alternateAddress, port },
            { address: options.alternateAddress, port: alternatePort },
          ];
    const bound: Endpoint[] = [];
    for (const endpoint of plan) {
      const socket = createSocket({ type: endpoint.address.includes(':') ? 'udp6' : 'udp4' });
      sockets.push(socket);
      await bindUdp(socket, endpoint).catch((error: unknown) => {
        const code = errorCode(error);
        throw new NatError(
          'P2PSP_ERR_NAT_LISTEN',
          `cannot listen on ${formatEndpoint(endpoint)} (${code}): ${
            code === 'EADDRINUSE'
              ? 'another process uses that port, choose other ports'
              : 'is that address configured on this host?'
          }`,
          { cause: error },
        );
      });
      bound.push({ address: endpoint.address, port: socket.address().port });
    }
    const core = new StunServerCore({
      primary: bound[0]!,
      ...(options.alternateAddress !== undefined
        ? { alternateAddress: options.alternateAddress, alternatePort: bound[1]!.port }
        : {}),
      ...(options.software ? { software: options.software } : {}),
    });
    const socketByEndpoint = new Map(
      bound.map((endpoint, index) => [`${endpoint.address}|${endpoint.port}`, sockets[index]!]),
    );
    sockets.forEach((socket, index) => {
      const local = bound[index]!;
      // Network errors on a server socket (ICMP unreachable reports) must not crash it.
      socket.on('error', () => {});
      socket.on('message', (bytes, rinfo) => {
        const reply = core.handle(bytes, endpointOf(rinfo), local);
        if (!reply) return;
        const sender = socketByEndpoint.get(`${reply.from.address}|${reply.from.port}`);
        if (sender) sendQuietly(sender, reply.bytes, reply.to);
      });
    });
    return { endpoints: core.endpoints, counters: core.counters, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
