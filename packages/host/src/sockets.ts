import type { Socket } from 'node:dgram';
import type { Server } from 'node:net';
import type { Endpoint } from '@p2psp/wire';

/** The system error code (`EADDRINUSE`...) of an error, or its message when it has none. */
export function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return error instanceof Error ? error.message : String(error);
}

/** Binds a UDP socket; rejects with the system error (`EADDRINUSE`, `EADDRNOTAVAIL`...). */
export function bindUdp(socket: Socket, endpoint: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(endpoint.port, endpoint.address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on a TCP (or HTTP) server, `exclusive` so that a port in use is refused here
 * rather than shared with cluster workers; rejects with the system error.
 */
export function listenTcp(server: Server, endpoint: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: endpoint.port, host: endpoint.address, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
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

/**
 * Sends without throwing: a send error (ENETUNREACH, EHOSTUNREACH...) is just a lost
 * datagram to a protocol that retransmits.
 */
export function sendQuietly(socket: Socket, bytes: Uint8Array, to: Endpoint): void {
  try {
    socket.send(bytes, to.port, to.address, () => {});
  } catch {
    // The socket was closed under us: nothing to send on.
  }
}
