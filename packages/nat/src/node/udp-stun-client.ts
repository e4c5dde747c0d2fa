import type { RemoteInfo, Socket } from 'node:dgram';
import type { Endpoint } from '@p2psp/wire';
import { NatError } from '../nat-error.js';
import {
  StunClientCore,
  type StunRetransmissionOptions,
  type StunTransactionResult,
} from '../stun-client.js';
import type { StunAttribute } from '../stun-message.js';
import { CoreTimer, cryptoRandom, endpointOf, monotonicNow } from './runtime.js';

export interface UdpStunClientOptions extends StunRetransmissionOptions {
  readonly software?: string;
  /**
   * Listen on the socket's 'message' event (default true). With false, the caller routes
   * datagrams itself through `handleDatagram`. Either way the socket stays the caller's:
   * its own 'message' listener should skip `isStunDatagram(bytes)` datagrams.
   */
  readonly listen?: boolean;
}

/**
 * STUN Binding transactions on a UDP socket the caller owns (the one the stream will use,
 * so the mapping STUN reports is the stream's). Only answers to our own transactions are
 * consumed; every other datagram is left to the caller.
 */
export class UdpStunClient {
  readonly #socket: Socket;
  readonly #core: StunClientCore;
  readonly #timer: CoreTimer;
  readonly #waiters = new Map<string, (result: StunTransactionResult) => void>();
  readonly #listener: ((bytes: Buffer, rinfo: RemoteInfo) => void) | undefined;
  #closed = false;

  constructor(socket: Socket, options: UdpStunClientOptions = {}) {
    this.#socket = socket;
    this.#core = new StunClientCore({
      random: cryptoRandom(),
      ...options,
    });
    this.#timer = new CoreTimer((now) => {
      this.#core.handleTimeout(now);
      this.#drain();
    });
    if (options.listen ?? true) {
      this.#listener = (bytes, rinfo) => {
        this.handleDatagram(bytes, endpointOf(rinfo));
      };
      socket.on('message', this.#listener);
    }
  }

  /** One Binding transaction; resolves (never rejects) with the answer or a typed failure. */
  request(
    to: Endpoint,
    options: {
      readonly attributes?: readonly StunAttribute[];
      readonly retransmission?: StunRetransmissionOptions;
    } = {},
  ): Promise<StunTransactionResult> {
    if (this.#closed) {
      return Promise.reject(
        new NatError('P2PSP_ERR_NAT_USAGE', 'UdpStunClient: request() after close()'),
      );
    }
    return new Promise((resolve) => {
      const key = this.#core.start({ to, ...options }, monotonicNow());
      this.#waiters.set(key, resolve);
      this.#drain();
    });
  }

  /** Routes a datagram; true when it answered one of our transactions. */
  handleDatagram(bytes: Uint8Array, from: Endpoint): boolean {
    const consumed = this.#core.handleDatagram(bytes, from, monotonicNow());
    if (consumed) this.#drain();
    return consumed;
  }

  /** Stops listening; pending requests end as timeouts now. The socket stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#listener) this.#socket.off('message', this.#listener);
    this.#timer.cancel();
    for (const [key, resolve] of this.#waiters) {
      this.#core.cancel(key);
      resolve({
        ok: false,
        error: {
          code: 'P2PSP_ERR_STUN_TIMEOUT',
          message: 'the STUN client was closed',
          requestsSent: 0,
        },
      });
    }
    this.#waiters.clear();
  }

  #drain(): void {
    for (let output = this.#core.pollOutput(); output; output = this.#core.pollOutput()) {
      if (output.type === 'send-datagram') {
        sendQuietly(this.#socket, output.bytes, output.to);
      } else {
        const resolve = this.#waiters.get(output.transaction);
        this.#waiters.delete(output.transaction);
        resolve?.(output.result);
      }
    }
    if (!this.#closed) this.#timer.arm(this.#core.pollTimeout());
  }
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
