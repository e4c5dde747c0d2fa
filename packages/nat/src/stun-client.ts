import type { Endpoint, Instant, Random } from '@p2psp/wire';
import { NatError } from './nat-error.js';
import {
  type DecodedStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  isStunDatagram,
  STUN_METHOD_BINDING,
  STUN_TRANSACTION_ID_LENGTH,
  type StunAttribute,
  transactionIdKey,
} from './stun-message.js';

/**
 * Sans-IO STUN client transactions (RFC 8489 §6.2.1): no socket, no timer, no clock.
 * The driver feeds datagrams and time; the core says what to send and when a transaction
 * ended. Responses are matched by transaction id only, not by source address, because
 * RFC 5780 discovery asks the server to answer from its other address and port.
 */

export interface StunRetransmissionOptions {
  /** Initial retransmission timeout in ms (RFC 8489 §6.2.1 recommends 500 ms). */
  readonly rto?: number;
  /** Rc: requests sent in total, the first included (RFC 8489 §6.2.1 default 7). */
  readonly maxRequests?: number;
  /** Rm: after the last request, wait Rm x RTO for an answer (RFC 8489 §6.2.1 default 16). */
  readonly lastWaitFactor?: number;
}

export const DEFAULT_STUN_RETRANSMISSION: Required<StunRetransmissionOptions> = {
  rto: 500,
  maxRequests: 7,
  lastWaitFactor: 16,
};

export interface StunClientOptions extends StunRetransmissionOptions {
  /** Source of transaction ids; the Node adapters pass a crypto-backed one (RFC 8489 §5). */
  readonly random: Random;
  /** SOFTWARE attribute sent with requests; omitted when empty. */
  readonly software?: string;
}

export interface StunRequest {
  readonly to: Endpoint;
  /** Extra attributes (CHANGE-REQUEST, RESPONSE-PORT, PADDING...). */
  readonly attributes?: readonly StunAttribute[];
  /** Which of the driver's sockets sends it (discovery uses several); default 0. */
  readonly socket?: number;
  /** Per-request override of the retransmission parameters. */
  readonly retransmission?: StunRetransmissionOptions;
}

export type StunTransactionResult =
  | {
      readonly ok: true;
      readonly response: DecodedStunMessage;
      /** Where the answer came from (may differ from the request's destination, RFC 5780). */
      readonly from: Endpoint;
      readonly socket: number;
      readonly requestsSent: number;
      /** Time from the first request to the answer, in ms. */
      readonly elapsed: number;
    }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: 'P2PSP_ERR_STUN_TIMEOUT' | 'P2PSP_ERR_STUN_ERROR_RESPONSE';
        readonly message: string;
        readonly requestsSent: number;
        /** The error response, for P2PSP_ERR_STUN_ERROR_RESPONSE. */
        readonly response?: DecodedStunMessage;
      };
    };

export type StunClientOutput =
  | {
      readonly type: 'send-datagram';
      readonly socket: number;
      readonly to: Endpoint;
      readonly bytes: Uint8Array;
    }
  | {
      readonly type: 'transaction-end';
      readonly transaction: string;
      readonly result: StunTransactionResult;
    };

interface Pending {
  readonly key: string;
  readonly to: Endpoint;
  readonly socket: number;
  readonly bytes: Uint8Array;
  readonly startedAt: Instant;
  readonly rto: number;
  readonly maxRequests: number;
  readonly lastWaitFactor: number;
  requestsSent: number;
  /** The next retransmission, or the final deadline after the last request. */
  deadline: Instant;
}

export class StunClientCore {
  readonly #options: StunClientOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #outputs: StunClientOutput[] = [];
  /** Datagrams that looked like STUN responses but matched no transaction (late, foreign). */
  unmatchedResponses = 0;

  constructor(options: StunClientOptions) {
    checkRetransmission(options);
    this.#options = options;
  }

  /** Starts a Binding transaction; returns its key (the transaction id in hex). */
  start(request: StunRequest, now: Instant): string {
    const retransmission = {
      ...DEFAULT_STUN_RETRANSMISSION,
      ...this.#options,
      ...request.retransmission,
    };
    checkRetransmission(retransmission);
    const transactionId = new Uint8Array(STUN_TRANSACTION_ID_LENGTH);
    for (let index = 0; index < transactionId.length; index++) {
      transactionId[index] = Math.floor(this.#options.random.next() * 256);
    }
    const key = transactionIdKey(transactionId);
    const attributes: StunAttribute[] = [...(request.attributes ?? [])];
    if (this.#options.software)
      attributes.push({ type: 'software', value: this.#options.software });
    const bytes = encodeStunMessage({
      method: STUN_METHOD_BINDING,
      messageClass: 'request',
      transactionId,
      attributes,
    });
    const pending: Pending = {
      key,
      to: request.to,
      socket: request.socket ?? 0,
      bytes,
      startedAt: now,
      rto: retransmission.rto,
      maxRequests: retransmission.maxRequests,
      lastWaitFactor: retransmission.lastWaitFactor,
      requestsSent: 0,
      deadline: now,
    };
    this.#pending.set(key, pending);
    this.#send(pending, now);
    return key;
  }

  /** Forgets a transaction without reporting it. */
  cancel(transaction: string): void {
    this.#pending.delete(transaction);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Offers a datagram that arrived on `socket`. Returns true when it was the answer to one of
   * our transactions (consumed); false for anything else, which the caller handles itself.
   */
  handleDatagram(bytes: Uint8Array, from: Endpoint, now: Instant, socket = 0): boolean {
    if (!isStunDatagram(bytes)) return false;
    const decoded = decodeStunMessage(bytes);
    if (!decoded.ok) return false;
    const { message } = decoded;
    if (message.messageClass !== 'success-response' && message.messageClass !== 'error-response') {
      return false;
    }
    const key = transactionIdKey(message.transactionId);
    const pending = this.#pending.get(key);
    if (!pending || pending.socket !== socket) {
      this.unmatchedResponses++;
      return false;
    }
    this.#pending.delete(key);
    const result: StunTransactionResult =
      message.messageClass === 'success-response'
        ? {
            ok: true,
            response: message,
            from,
            socket,
            requestsSent: pending.requestsSent,
            elapsed: now - pending.startedAt,
          }
        : {
            ok: false,
            error: {
              code: 'P2PSP_ERR_STUN_ERROR_RESPONSE',
              message: describeErrorResponse(message),
              requestsSent: pending.requestsSent,
              response: message,
            },
          };
    this.#outputs.push({ type: 'transaction-end', transaction: key, result });
    return true;
  }

  handleTimeout(now: Instant): void {
    for (const pending of [...this.#pending.values()]) {
      if (pending.deadline > now) continue;
      if (pending.requestsSent < pending.maxRequests) {
        this.#send(pending, now);
      } else {
        this.#pending.delete(pending.key);
        this.#outputs.push({
          type: 'transaction-end',
          transaction: pending.key,
          result: {
            ok: false,
            error: {
              code: 'P2PSP_ERR_STUN_TIMEOUT',
              message: `no STUN answer from ${pending.to.address}:${pending.to.port} after ${pending.requestsSent} requests over ${now - pending.startedAt} ms`,
              requestsSent: pending.requestsSent,
            },
          },
        });
      }
    }
  }

  pollTimeout(): Instant | undefined {
    let earliest: Instant | undefined;
    for (const pending of this.#pending.values()) {
      if (earliest === undefined || pending.deadline < earliest) earliest = pending.deadline;
    }
    return earliest;
  }

  pollOutput(): StunClientOutput | undefined {
    return this.#outputs.shift();
  }

  #send(pending: Pending, now: Instant): void {
    pending.requestsSent++;
    // RFC 8489 §6.2.1: retransmit at RTO, then double it each time; after the last request
    // (Rc), wait Rm x RTO. With 500 ms: sends at 0, 500, 1500, ..., 31500, give up at 39500.
    pending.deadline =
      pending.requestsSent < pending.maxRequests
        ? now + pending.rto * 2 ** (pending.requestsSent - 1)
        : now + pending.rto * pending.lastWaitFactor;
    this.#outputs.push({
      type: 'send-datagram',
      socket: pending.socket,
      to: pending.to,
      bytes: pending.bytes,
    });
  }
}

function describeErrorResponse(message: DecodedStunMessage): string {
  const error = message.attributes.find((attribute) => attribute.type === 'error-code');
  return error && error.type === 'error-code'
    ? `STUN error response ${error.code} ${error.reason}`
    : 'STUN error response without ERROR-CODE';
}

function checkRetransmission(options: StunRetransmissionOptions): void {
  const { rto, maxRequests, lastWaitFactor } = options;
  if (rto !== undefined && !(Number.isFinite(rto) && rto > 0)) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `STUN option rto must be a positive number of ms, got ${rto}`,
    );
  }
  if (maxRequests !== undefined && !(Number.isInteger(maxRequests) && maxRequests >= 1)) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `STUN option maxRequests (Rc) must be an integer >= 1, got ${maxRequests}`,
    );
  }
  if (lastWaitFactor !== undefined && !(Number.isFinite(lastWaitFactor) && lastWaitFactor > 0)) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `STUN option lastWaitFactor (Rm) must be positive, got ${lastWaitFactor}`,
    );
  }
}
