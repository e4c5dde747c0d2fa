import type { RemoteInfo, Socket } from 'node:dgram';
import { CoreDriver, sendQuietly } from '@p2psp/host';
import type { Endpoint } from '@p2psp/wire';
import {
  HolePunchCore,
  type HolePunchOptions,
  type HolePunchOutput,
  type HolePunchResult,
} from '../hole-punch.js';
import { cryptoRandom, endpointOf, socketEndpoint } from './runtime.js';

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
    const detach = () => {
      driver.stop();
      socket.off('message', listener);
    };
    const driver = new CoreDriver<HolePunchOutput>(core, {
      perform: (output) => {
        if (output.type === 'send-datagram') {
          sendQuietly(socket, output.bytes, output.to);
        } else if (output.result.ok) {
          resolve({ ...output.result, local });
          setTimeout(detach, linger).unref();
        } else {
          detach();
          resolve(output.result);
        }
      },
    });
    const listener = (bytes: Buffer, rinfo: RemoteInfo) => {
      driver.run((now) => core.handleDatagram(bytes, endpointOf(rinfo), now));
    };
    socket.on('message', listener);
    driver.run((now) => core.start(now));
  });
}
