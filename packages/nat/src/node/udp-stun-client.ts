import type { RemoteInfo, Socket } from 'node:dgram';
import { CoreDriver, sendQuietly } from '@p2psp/host';
import type { Endpoint } from '@p2psp/wire';
import { NatError } from '../nat-error.js';
import {
  StunClientCore,
  type StunClientOutput,
  type StunRetransmissionOptions,
  type StunTransactionResult,
} from '../stun-client.js';
import type { StunAttribute } from '../stun-message.js';
import { cryptoRandom, endpointOf } from './runtime.js';

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
  readonly #driver: CoreDriver<StunClientOutput>;
  readonly #waiters = new Map<string, (result: StunTransactionResult) => void>();
  readonly #listener: ((bytes: Buffer, rinfo: RemoteInfo) => void) | undefined;
  #closed = false;

  constructor(socket: Socket, options: UdpStunClientOptions = {}) {
    this.#socket = socket;
    this.#core = new StunClientCore({
      random: cryptoRandom(),
      ...options,
    });
    this.#driver = new CoreDriver(this.#core, {
      perform: (output) => {
        if (output.type === 'send-datagram') {
          sendQuietly(this.#socket, output.bytes, output.to);
        } else {
          const resolve = this.#waiters.get(output.transaction);
          this.#waiters.delete(output.transaction);
          resolve?.(output.result);
        }
      },
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
      this.#driver.run((now) => {
        this.#waiters.set(this.#core.start({ to, ...options }, now), resolve);
      });
    });
  }

  /** Routes a datagram; true when it answered one of our transactions. */
  handleDatagram(bytes: Uint8Array, from: Endpoint): boolean {
    return this.#driver.run((now) => this.#core.handleDatagram(bytes, from, now)) ?? false;
  }

  /** Stops listening; pending requests end as timeouts now. The socket stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#listener) this.#socket.off('message', this.#listener);
    this.#driver.stop();
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
}
