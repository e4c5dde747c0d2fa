import { type Endpoint, isControlDatagram } from '@p2psp/wire';

/** What the sender needs of a `dgram.Socket`. */
export interface DatagramSocket {
  send(
    bytes: Uint8Array,
    port: number,
    address: string,
    callback: (error: Error | null) => void,
  ): void;
  /** Datagrams waiting in the socket's own (libuv) send queue: the kernel took no more. */
  getSendQueueCount(): number;
}

export interface DatagramSenderOptions {
  /** Chunks held at most; past it the oldest is shed (its turn in the relay has passed). */
  readonly maxHeldChunks?: number;
  /** Each datagram handed to the socket, and later its completion. */
  readonly onSent?: (bytes: Uint8Array) => void;
  readonly onDone?: (error: Error | null, to: Endpoint) => void;
  /** A held chunk the socket refused when its turn came (the socket closed, a bad address). */
  readonly onFail?: (error: unknown, to: Endpoint) => void;
  /** A chunk shed from the held queue. */
  readonly onShed?: () => void;
}

/** 256 chunk datagrams: 265 KiB, a few seconds of stream at the upload a peer falls short of. */
const DEFAULT_MAX_HELD_CHUNKS = 256;

/**
 * Control before relays. While the socket's send queue is backed up (the upload is the
 * bottleneck), chunks wait here and every other datagram (stats reports, hellos, acks,
 * goodbyes, lost-chunk, member-silent...) goes to the socket at once, behind at most what
 * the socket holds already: a slow member's reports still reach the source within its
 * member timeout (rule 6). Chunks go on as the socket's queue empties, oldest first.
 */
export class DatagramSender {
  readonly #socket: DatagramSocket;
  readonly #options: DatagramSenderOptions;
  readonly #maxHeld: number;
  readonly #held: { to: Endpoint; address: string; bytes: Uint8Array }[] = [];

  constructor(socket: DatagramSocket, options: DatagramSenderOptions = {}) {
    this.#socket = socket;
    this.#options = options;
    this.#maxHeld = options.maxHeldChunks ?? DEFAULT_MAX_HELD_CHUNKS;
  }

  /** Chunks waiting for the socket's queue to empty. */
  get held(): number {
    return this.#held.length;
  }

  /** Sends `bytes` to `to` (reached at `address`); may throw as `dgram.Socket.send` does. */
  send(to: Endpoint, address: string, bytes: Uint8Array): void {
    if (
      !isControlDatagram(bytes) &&
      (this.#held.length > 0 || this.#socket.getSendQueueCount() > 0)
    ) {
      this.#held.push({ to, address, bytes });
      if (this.#held.length > this.#maxHeld) {
        this.#held.shift();
        this.#options.onShed?.();
      }
      return;
    }
    this.#write(to, address, bytes);
  }

  #write(to: Endpoint, address: string, bytes: Uint8Array): void {
    this.#socket.send(bytes, to.port, address, (error) => {
      this.#options.onDone?.(error, to);
      this.#release();
    });
    this.#options.onSent?.(bytes);
  }

  #release(): void {
    while (this.#held.length > 0 && this.#socket.getSendQueueCount() === 0) {
      const next = this.#held.shift()!;
      try {
        this.#write(next.to, next.address, next.bytes);
      } catch (error) {
        this.#options.onFail?.(error, next.to);
      }
    }
  }
}
