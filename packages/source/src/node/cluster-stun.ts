import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { bindUdp, closeQuietly, errorCode, sendQuietly } from '@p2psp/host';
import { isStunDatagram, StunServerCore } from '@p2psp/nat';
import type { Endpoint } from '@p2psp/wire';
import { SourceRuntimeError } from './errors.js';

/**
 * RFC 5780 behaviour discovery on the source's own cluster port (optional). The
 * cluster socket is A1:P1; three more sockets are opened at A1:P2, A2:P1 and A2:P2. STUN on
 * the cluster socket is taken here before the core sees it (the core alone answers plain
 * RFC 8489 Binding, which is what the simulator and a source without a second address do),
 * because a CHANGE-REQUEST must be answered from another socket, which a core's
 * `send-datagram` cannot name. The protocol is @p2psp/nat's sans-IO `StunServerCore`.
 */
export interface ClusterStun {
  /** Every endpoint served: the cluster socket first (RFC 5780 needs four). */
  readonly endpoints: readonly Endpoint[];
  /** A datagram that reached the cluster socket: true when it was STUN and is answered. */
  handleClusterDatagram(bytes: Uint8Array, from: Endpoint): boolean;
  readonly counters: StunServerCore['counters'];
  close(): Promise<void>;
}

export async function startClusterStun(
  cluster: Socket,
  primary: Endpoint,
  alternateAddress: string,
  alternatePort: number,
): Promise<ClusterStun> {
  if (primary.address === '0.0.0.0' || primary.address === '::') {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      '--alternate-address needs --address: RFC 5780 tells clients the exact addresses to test, so bind the source to one IP of this machine (not the wildcard)',
    );
  }
  if (isIP(alternateAddress) === 0) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--alternate-address ${alternateAddress} is not an IP address; give a second IP of this machine`,
    );
  }
  let core: StunServerCore;
  try {
    core = new StunServerCore({
      primary,
      alternateAddress,
      alternatePort,
      software: 'p2psp source',
    });
  } catch (error) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--alternate-address ${alternateAddress} --alternate-port ${alternatePort}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const family = isIP(primary.address) === 6 ? 'udp6' : 'udp4';
  const sockets = new Map<string, Socket>([[key(primary), cluster]]);
  const opened: Socket[] = [];
  const close = async () => {
    await Promise.all(opened.map(closeQuietly));
  };
  const answer = (bytes: Uint8Array, from: Endpoint, local: Endpoint): boolean => {
    if (!isStunDatagram(bytes)) return false;
    const reply = core.handle(bytes, from, local);
    const socket = reply === null ? undefined : sockets.get(key(reply.from));
    if (reply !== null && socket !== undefined) sendQuietly(socket, reply.bytes, reply.to);
    return true;
  };
  try {
    for (const endpoint of core.endpoints.slice(1)) {
      const socket = createSocket(family);
      opened.push(socket);
      socket.on('error', () => {});
      await bindUdp(socket, endpoint);
      sockets.set(key(endpoint), socket);
      socket.on('message', (bytes, remote) => {
        answer(bytes, { address: remote.address, port: remote.port }, endpoint);
      });
    }
  } catch (error) {
    await close();
    const code = errorCode(error);
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--alternate-address ${alternateAddress} --alternate-port ${alternatePort}: cannot listen there (${code}); give a second IP of this machine and free ports`,
      { cause: error },
    );
  }
  return {
    endpoints: core.endpoints,
    counters: core.counters,
    handleClusterDatagram: (bytes, from) => answer(bytes, from, primary),
    close,
  };
}

function key(endpoint: Endpoint): string {
  return `${endpoint.address}|${endpoint.port}`;
}
