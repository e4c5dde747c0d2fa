import { type Endpoint, unmapIpv4 } from '@p2psp/wire';
import { canonicalIpAddress } from './ip-address.js';
import { NatError } from './nat-error.js';
import {
  type DecodedStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  findStunAttribute,
  isStunDatagram,
  STUN_METHOD_BINDING,
  type StunAttribute,
} from './stun-message.js';

/**
 * Sans-IO STUN server: bytes in, bytes out, no sockets. Plain RFC 8489 Binding service with
 * one endpoint; RFC 5780 §6 behaviour discovery service when given a second address and
 * a second port (four sockets: A1:P1, A1:P2, A2:P1, A2:P2).
 */

export interface StunServerConfig {
  /** A1:P1, the endpoint clients are told about. */
  readonly primary: Endpoint;
  /** A2: with `alternatePort`, turns on RFC 5780 (CHANGE-REQUEST, OTHER-ADDRESS...). */
  readonly alternateAddress?: string;
  /** P2 (RFC 5780 §6 needs both an alternate address and an alternate port). */
  readonly alternatePort?: number;
  /** SOFTWARE attribute in responses; empty for none. */
  readonly software?: string;
}

export interface StunServerReply {
  /** The server socket to answer from (one of `endpoints`). */
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly bytes: Uint8Array;
}

export interface StunServerCounters {
  requests: number;
  responses: number;
  errorResponses: number;
  /** Datagrams dropped: not STUN, malformed, bad FINGERPRINT, not a request. */
  dropped: number;
}

export class StunServerCore {
  readonly #config: StunServerConfig;
  /** Every endpoint the server listens on: one (plain) or four (RFC 5780). */
  readonly endpoints: readonly Endpoint[];
  readonly behaviourDiscovery: boolean;
  readonly counters: StunServerCounters = {
    requests: 0,
    responses: 0,
    errorResponses: 0,
    dropped: 0,
  };

  constructor(config: StunServerConfig) {
    checkEndpoint('primary', config.primary);
    const hasAddress = config.alternateAddress !== undefined;
    const hasPort = config.alternatePort !== undefined;
    if (hasAddress !== hasPort) {
      throw new NatError(
        'P2PSP_ERR_NAT_OPTION',
        'STUN server: RFC 5780 needs both alternateAddress and alternatePort (or neither for a plain Binding server)',
      );
    }
    this.#config = config;
    this.behaviourDiscovery = hasAddress && hasPort;
    if (this.behaviourDiscovery) {
      const { address, port } = config.primary;
      const alternateAddress = config.alternateAddress!;
      const alternatePort = config.alternatePort!;
      checkEndpoint('alternate', { address: alternateAddress, port: alternatePort });
      if (canonicalIpAddress(alternateAddress) === canonicalIpAddress(address)) {
        throw new NatError(
          'P2PSP_ERR_NAT_OPTION',
          'STUN server: alternateAddress must differ from the primary address',
        );
      }
      if (alternatePort === port) {
        throw new NatError(
          'P2PSP_ERR_NAT_OPTION',
          'STUN server: alternatePort must differ from the primary port',
        );
      }
      this.endpoints = [
        { address, port },
        { address, port: alternatePort },
        { address: alternateAddress, port },
        { address: alternateAddress, port: alternatePort },
      ];
    } else {
      this.endpoints = [config.primary];
    }
  }

  /**
   * Answers one datagram that arrived on `local` (one of `endpoints`) from `from`. Returns
   * null (and counts a drop) for anything that is not a well-formed STUN request.
   */
  handle(bytes: Uint8Array, from: Endpoint, local: Endpoint): StunServerReply | null {
    if (!isStunDatagram(bytes)) {
      this.counters.dropped++;
      return null;
    }
    const decoded = decodeStunMessage(bytes);
    if (!decoded.ok || decoded.message.messageClass !== 'request') {
      // RFC 8489 §6.3: malformed messages are discarded silently; so are indications and
      // responses (a server starts no transactions).
      this.counters.dropped++;
      return null;
    }
    this.counters.requests++;
    const request = decoded.message;
    const localSocket = this.#socketOf(local);
    if (!localSocket) {
      this.counters.dropped++;
      return null;
    }
    const reply = this.behaviourDiscovery
      ? this.#answerBehaviourDiscovery(request, from, localSocket)
      : this.#answerPlain(request, from, localSocket);
    if (reply) this.counters.responses++;
    return reply;
  }

  #socketOf(local: Endpoint): Endpoint | undefined {
    const address = canonicalIpAddress(local.address);
    return this.endpoints.find(
      (endpoint) =>
        endpoint.port === local.port && canonicalIpAddress(endpoint.address) === address,
    );
  }

  #answerPlain(request: DecodedStunMessage, from: Endpoint, local: Endpoint): StunServerReply {
    const unknown = [...request.unknownComprehensionRequired];
    // Without a second address this is an RFC 8489 server: RFC 5780 requests it cannot honour
    // are refused with 420 (RFC 5780 §6.1), so the client learns discovery is unsupported.
    const change = findStunAttribute(request, 'change-request');
    if (change && (change.changeAddress || change.changePort)) unknown.push(0x0003);
    if (findStunAttribute(request, 'response-port')) unknown.push(0x0027);
    const rejection = this.#reject(request, from, local, unknown);
    if (rejection) return rejection;
    const attributes: StunAttribute[] = [
      { type: 'xor-mapped-address', endpoint: reportedEndpoint(from) },
    ];
    if (!isWildcard(local.address)) attributes.push({ type: 'response-origin', endpoint: local });
    return this.#reply(request, local, from, attributes);
  }

  #answerBehaviourDiscovery(
    request: DecodedStunMessage,
    from: Endpoint,
    local: Endpoint,
  ): StunServerReply {
    const rejection = this.#reject(request, from, local, request.unknownComprehensionRequired);
    if (rejection) return rejection;
    const primaryAddress = canonicalIpAddress(this.#config.primary.address);
    const onPrimaryAddress = canonicalIpAddress(local.address) === primaryAddress;
    const onPrimaryPort = local.port === this.#config.primary.port;
    const otherAddress = onPrimaryAddress
      ? this.#config.alternateAddress!
      : this.#config.primary.address;
    const otherPort = onPrimaryPort ? this.#config.alternatePort! : this.#config.primary.port;
    const change = findStunAttribute(request, 'change-request');
    // RFC 5780 §6.1: answer from the other address and/or port when CHANGE-REQUEST asks.
    const source: Endpoint = {
      address: change?.changeAddress ? otherAddress : local.address,
      port: change?.changePort ? otherPort : local.port,
    };
    // RFC 5780 §6.1 / §7.5: RESPONSE-PORT sends the answer to another port of the same address.
    const responsePort = findStunAttribute(request, 'response-port');
    const destination: Endpoint = responsePort
      ? { address: from.address, port: responsePort.port }
      : from;
    const attributes: StunAttribute[] = [
      { type: 'xor-mapped-address', endpoint: reportedEndpoint(from) },
      // RFC 5780 §7.3/§7.4: where the answer is sent from, and the diagonal endpoint of the
      // socket the request reached (other address, other port).
      { type: 'response-origin', endpoint: source },
      { type: 'other-address', endpoint: { address: otherAddress, port: otherPort } },
    ];
    return this.#reply(request, source, destination, attributes);
  }

  #reject(
    request: DecodedStunMessage,
    from: Endpoint,
    local: Endpoint,
    unknown: readonly number[],
  ): StunServerReply | null {
    if (request.method !== STUN_METHOD_BINDING) {
      return this.#error(request, from, local, 400, 'Bad Request: only Binding is served', []);
    }
    if (unknown.length > 0) {
      // RFC 8489 §6.3.1.1: 420 with UNKNOWN-ATTRIBUTES listing what we did not understand.
      return this.#error(request, from, local, 420, 'Unknown Attribute', unknown);
    }
    return null;
  }

  #error(
    request: DecodedStunMessage,
    from: Endpoint,
    local: Endpoint,
    code: number,
    reason: string,
    unknown: readonly number[],
  ): StunServerReply {
    this.counters.errorResponses++;
    const attributes: StunAttribute[] = [{ type: 'error-code', code, reason }];
    if (unknown.length > 0)
      attributes.push({ type: 'unknown-attributes', attributeTypes: unknown });
    const bytes = encodeStunMessage({
      method: request.method,
      messageClass: 'error-response',
      transactionId: request.transactionId,
      attributes: this.#withSoftware(attributes),
    });
    return { from: local, to: from, bytes };
  }

  #reply(
    request: DecodedStunMessage,
    source: Endpoint,
    destination: Endpoint,
    attributes: StunAttribute[],
  ): StunServerReply {
    const bytes = encodeStunMessage({
      method: STUN_METHOD_BINDING,
      messageClass: 'success-response',
      transactionId: request.transactionId,
      attributes: this.#withSoftware(attributes),
    });
    return { from: source, to: destination, bytes };
  }

  #withSoftware(attributes: StunAttribute[]): StunAttribute[] {
    if (this.#config.software) attributes.push({ type: 'software', value: this.#config.software });
    return attributes;
  }
}

/**
 * For a node that answers STUN on a socket it uses for something else (the P2PSP source on
 * its cluster port): the Binding response bytes to send back to `from`, or null when the
 * datagram is not a STUN request (then it is the caller's). Plain RFC 8489 service.
 */
export function answerStunDatagram(
  bytes: Uint8Array,
  from: Endpoint,
  options: { readonly local?: Endpoint; readonly software?: string } = {},
): Uint8Array | null {
  if (!isStunDatagram(bytes)) return null;
  const local = options.local ?? { address: '0.0.0.0', port: 0 };
  const core = new StunServerCore({
    primary: local,
    ...(options.software ? { software: options.software } : {}),
  });
  return core.handle(bytes, from, local)?.bytes ?? null;
}

/**
 * A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d; the client sent from an IPv4
 * address, so that is what it is told (the reply still goes to the mapped form).
 */
function reportedEndpoint(from: Endpoint): Endpoint {
  const canonical = canonicalIpAddress(from.address);
  const unmapped = canonical === null ? null : unmapIpv4(canonical);
  return unmapped !== null && unmapped !== canonical
    ? { address: unmapped, port: from.port }
    : from;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function checkEndpoint(name: string, endpoint: Endpoint): void {
  if (canonicalIpAddress(endpoint.address) === null) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `STUN server: ${name} address "${endpoint.address}" is not an IP literal`,
    );
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 0 || endpoint.port > 0xffff) {
    throw new NatError(
      'P2PSP_ERR_NAT_OPTION',
      `STUN server: ${name} port ${endpoint.port} is outside 0..65535`,
    );
  }
}
