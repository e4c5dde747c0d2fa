import type { RemoteInfo, Socket } from 'node:dgram';
import type { Endpoint } from '@p2psp/wire';
import { HolePunchCore, type HolePunchOptions, type HolePunchResult } from '../hole-punch.js';
import { CoreTimer, cryptoRandom, endpointOf, monotonicNow, socketEndpoint } from './runtime.js';
import { sendQuietly } from './udp-stun-client.js';

export interface PunchHoleOptions extends Omit<HolePunchOptions, 'random'> {
  /** The caller's bound socket, the one the stream will use. Stays open. */
  readonly socket: Socket;
  /**
   * After success, keep answering the remote's hellos this long (ms) so it gets its ack
   * too. Default 2000. The caller's own 'message' listener sees hellos meanwhile: it should
   * ignore hello/hello-ack it did not start.
   */
  readonly linger?: number;
}

export type PunchHoleResult =
  | (Extract<HolePunchResult, { ok: true }> & { readonly local: Endpoint })
  | Extract<HolePunchResult, { ok: false }>;

/**
 * UDP hole punching on the caller's socket. Resolves with the working endpoint pair or a
 * typed failure (P2PSP_ERR_PUNCH_IMPOSSIBLE at once, P2PSP_ERR_PUNCH_TIMEOUT after
 * `timeout`); never rejects for network reasons.
 */
export function punchHole(options: PunchHoleOptions): Promise<PunchHoleResult> {
  const { socket, linger = 2000, ...coreOptions } = options;
  const core = new HolePunchCore({ ...coreOptions, random: cryptoRandom() });
  const local = socketEndpoint(socket);
  return new Promise((resolve) => {
    let lingerTimer: NodeJS.Timeout | undefined;
    const detach = () => {
      timer.cancel();
      socket.off('message', listener);
    };
    const drain = () => {
      for (let output = core.pollOutput(); output; output = core.pollOutput()) {
        if (output.type === 'send-datagram') {
          sendQuietly(socket, output.bytes, output.to);
        } else if (output.result.ok) {
          resolve({ ...output.result, local });
          lingerTimer = setTimeout(detach, linger);
          lingerTimer.unref();
        } else {
          detach();
          resolve(output.result);
        }
      }
      timer.arm(core.pollTimeout());
    };
    const timer = new CoreTimer((now) => {
      core.handleTimeout(now);
      drain();
    });
    const listener = (bytes: Buffer, rinfo: RemoteInfo) => {
      if (core.handleDatagram(bytes, endpointOf(rinfo), monotonicNow())) drain();
    };
    socket.on('message', listener);
    core.start(monotonicNow());
    drain();
  });
}
