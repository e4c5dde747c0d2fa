import { createSocket, type Socket } from 'node:dgram';
import type { Endpoint } from '@p2psp/wire';

/** Binds a UDP socket to `local`; resolves with the bound endpoint (port 0 picks one). */
export function bindUdp(local: Endpoint): Promise<{ socket: Socket; local: Endpoint }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(local.port, local.address, () => {
      socket.off('error', reject);
      // A send to an unreachable port must never kill the agent (rule 3).
      socket.on('error', () => {});
      const bound = socket.address();
      resolve({ socket, local: { address: bound.address, port: bound.port } });
    });
  });
}
