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

export function sendTo(socket: Socket, to: Endpoint, bytes: Uint8Array): void {
  socket.send(bytes, to.port, to.address);
}

/** A seed for the cores' random generators (the agents are the I/O side: randomness is ours). */
export function seed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/**
 * Runs a sans-IO core's timer: after every input, call `schedule()`; it re-arms one timer
 * for the core's next deadline (`pollTimeout`) and calls `onTimeout(now)` then.
 */
export function timerFor(
  pollTimeout: () => number | undefined,
  onTimeout: (now: number) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const deadline = pollTimeout();
    if (deadline === undefined) return;
    timer = setTimeout(
      () => {
        onTimeout(performance.now());
        schedule();
      },
      Math.max(0, deadline - performance.now()),
    );
  };
  return schedule;
}
