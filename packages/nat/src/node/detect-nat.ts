import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { bindUdp, CoreDriver, closeQuietly, sendQuietly } from '@p2psp/host';
import type { Endpoint } from '@p2psp/wire';
import {
  NatDiscoveryCore,
  type NatDiscoveryOutput,
  type NatDiscoveryResult,
  NOTHING_LEARNED,
} from '../nat-discovery.js';
import { NatError } from '../nat-error.js';
import type { StunRetransmissionOptions } from '../stun-client.js';
import { cryptoRandom, endpointOf, hostAddresses, socketEndpoint } from './runtime.js';

export interface DetectNatOptions {
  /** The STUN server's primary endpoint (A1:P1); RFC 5780-capable for a full verdict. */
  readonly server: Endpoint;
  /**
   * The caller's bound UDP socket (socket 0), whose mapping the report describes; it stays
   * the caller's and open. Without it, a socket is bound on `localAddress` and closed after.
   */
  readonly socket?: Socket;
  /** Where the fresh sockets (and socket 0, when not given) bind. Default: the wildcard. */
  readonly localAddress?: string;
  /** Fresh sockets sampling port allocation. Default 3. */
  readonly freshSockets?: number;
  readonly retransmission?: StunRetransmissionOptions;
  readonly attempts?: number;
  /** Overall bound in ms; past it the verdict is 'unknown' with a warning. Default 30000. */
  readonly timeout?: number;
  readonly software?: string;
}

/**
 * RFC 5780 NAT behaviour discovery on real sockets. Resolves with the detailed result (its
 * `report` is the wire NatReport); never rejects for network reasons (UDP blocked is a
 * verdict), only for misuse (bad options, a socket that is not bound).
 */
export async function detectNat(options: DetectNatOptions): Promise<NatDiscoveryResult> {
  const family = options.server.address.includes(':') ? 'udp6' : 'udp4';
  const freshSockets = options.freshSockets ?? 3;
  if (!Number.isInteger(freshSockets) || freshSockets < 0 || freshSockets > 16) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `detectNat: freshSockets must be an integer 0..16, got ${freshSockets}`,
    );
  }
  const ownSockets: Socket[] = [];
  const bind = async (): Promise<Socket> => {
    const socket = createSocket({ type: family });
    ownSockets.push(socket);
    socket.on('error', () => {});
    const wildcard = family === 'udp6' ? '::' : '0.0.0.0';
    await bindUdp(socket, { address: options.localAddress ?? wildcard, port: 0 });
    return socket;
  };
  const sockets: Socket[] = [];
  const listeners: ((bytes: Buffer, rinfo: RemoteInfo) => void)[] = [];
  try {
    sockets.push(options.socket ?? (await bind()));
    for (let index = 0; index < freshSockets; index++) sockets.push(await bind());
    let localEndpoints: Endpoint[];
    try {
      localEndpoints = sockets.map(socketEndpoint);
    } catch {
      throw new NatError(
        'P2PSP_ERR_NAT_USAGE',
        'detectNat: the given socket is not bound; bind it before detecting (socket.bind)',
      );
    }
    const core = new NatDiscoveryCore({
      server: options.server,
      localEndpoints,
      localAddresses: hostAddresses(),
      random: cryptoRandom(),
      ...(options.retransmission ? { retransmission: options.retransmission } : {}),
      ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
      ...(options.software ? { software: options.software } : {}),
    });
    return await new Promise<NatDiscoveryResult>((resolve) => {
      const driver = new CoreDriver<NatDiscoveryOutput>(core, {
        perform: (output) => {
          if (output.type === 'send-datagram') {
            const socket = sockets[output.socket];
            if (socket) sendQuietly(socket, output.bytes, output.to);
          } else {
            clearTimeout(overall);
            resolve(output.result);
          }
        },
      });
      const overall = setTimeout(() => {
        driver.stop();
        resolve(timedOut(options.timeout ?? 30_000));
      }, options.timeout ?? 30_000);
      sockets.forEach((socket, index) => {
        const listener = (bytes: Buffer, rinfo: RemoteInfo) => {
          driver.run((now) => core.handleDatagram(bytes, endpointOf(rinfo), index, now));
        };
        listeners.push(listener);
        socket.on('message', listener);
      });
      driver.run((now) => core.start(now));
    });
  } finally {
    sockets.forEach((socket, index) => {
      const listener = listeners[index];
      if (listener) socket.off('message', listener);
    });
    await Promise.all(ownSockets.map(closeQuietly));
  }
}

function timedOut(timeout: number): NatDiscoveryResult {
  return {
    ...NOTHING_LEARNED,
    mappings: [],
    lastMappedPort: null,
    otherAddress: null,
    filteringTests: {
      changeAddressAndPort: { attempts: 0, answered: false },
      changePort: { attempts: 0, answered: false },
    },
    warning: `P2PSP_ERR_NAT_DETECT_TIMEOUT: detection did not finish within ${timeout} ms (raise --timeout)`,
    requestsSent: 0,
    elapsed: timeout,
  };
}
