import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  decodeStunMessage,
  encodeStunMessage,
  findStunAttribute,
  mappedEndpointOf,
  STUN_METHOD_BINDING,
  type StunAttribute,
} from './stun-message.js';
import { answerStunDatagram, StunServerCore } from './stun-server.js';

const random = createRandom(9);
function request(attributes: StunAttribute[] = [], method = STUN_METHOD_BINDING): Uint8Array {
  const transactionId = new Uint8Array(12).map(() => Math.floor(random.next() * 256));
  return encodeStunMessage({ method, messageClass: 'request', transactionId, attributes });
}

const client = { address: '198.51.100.7', port: 40000 };
const A1P1 = { address: '192.0.2.1', port: 3478 };
const A1P2 = { address: '192.0.2.1', port: 3479 };
const A2P1 = { address: '192.0.2.2', port: 3478 };
const A2P2 = { address: '192.0.2.2', port: 3479 };

function decodeReply(bytes: Uint8Array) {
  const result = decodeStunMessage(bytes);
  if (!result.ok) throw new Error(result.error.message);
  return result.message;
}

describe('STUN server core, RFC 5780 mode', () => {
  const server = new StunServerCore({
    primary: A1P1,
    alternateAddress: A2P1.address,
    alternatePort: A1P2.port,
    software: 'p2psp test',
  });

  it('listens on four endpoints', () => {
    expect(server.endpoints).toEqual([A1P1, A1P2, A2P1, A2P2]);
  });

  it.each([
    ['no change', A1P1, false, false, A1P1, A2P2],
    ['change port', A1P1, false, true, A1P2, A2P2],
    ['change address', A1P1, true, false, A2P1, A2P2],
    ['change both', A1P1, true, true, A2P2, A2P2],
    ['no change on A2:P2', A2P2, false, false, A2P2, A1P1],
    ['change both on A2:P1', A2P1, true, true, A1P2, A1P2],
  ])(
    '%s: answers from the right socket with RESPONSE-ORIGIN and OTHER-ADDRESS',
    (_name, local, changeAddress, changePort, origin, other) => {
      const reply = server.handle(
        request([{ type: 'change-request', changeAddress, changePort }]),
        client,
        local,
      );
      expect(reply).not.toBeNull();
      if (!reply) return;
      expect(reply.from).toEqual(origin);
      expect(reply.to).toEqual(client);
      const message = decodeReply(reply.bytes);
      expect(message.messageClass).toBe('success-response');
      expect(message.fingerprint).toBe(true);
      expect(mappedEndpointOf(message)).toEqual(client);
      expect(findStunAttribute(message, 'response-origin')?.endpoint).toEqual(origin);
      expect(findStunAttribute(message, 'other-address')?.endpoint).toEqual(other);
      expect(findStunAttribute(message, 'software')?.value).toBe('p2psp test');
    },
  );

  it('honours RESPONSE-PORT (RFC 5780 §7.5)', () => {
    const reply = server.handle(request([{ type: 'response-port', port: 5555 }]), client, A1P1);
    expect(reply?.to).toEqual({ address: client.address, port: 5555 });
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES for unknown comprehension-required attributes', () => {
    const reply = server.handle(
      request([{ type: 'unknown', attributeType: 0x0024, value: new Uint8Array(4) }]),
      client,
      A1P1,
    );
    const message = decodeReply(reply!.bytes);
    expect(message.messageClass).toBe('error-response');
    expect(findStunAttribute(message, 'error-code')?.code).toBe(420);
    expect(findStunAttribute(message, 'unknown-attributes')?.attributeTypes).toEqual([0x0024]);
  });

  it('drops and counts garbage, responses and indications', () => {
    const before = server.counters.dropped;
    expect(server.handle(new Uint8Array([1, 2, 3]), client, A1P1)).toBeNull();
    const indication = encodeStunMessage({
      method: STUN_METHOD_BINDING,
      messageClass: 'indication',
      transactionId: new Uint8Array(12),
      attributes: [],
    });
    expect(server.handle(indication, client, A1P1)).toBeNull();
    const corrupted = request().slice();
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 1;
    expect(server.handle(corrupted, client, A1P1)).toBeNull();
    expect(server.counters.dropped - before).toBe(3);
  });

  it('refuses a misconfiguration with a message naming the fix', () => {
    expect(() => new StunServerCore({ primary: A1P1, alternateAddress: A2P1.address })).toThrow(
      /both alternateAddress and alternatePort/,
    );
    expect(
      () => new StunServerCore({ primary: A1P1, alternateAddress: A1P1.address, alternatePort: 1 }),
    ).toThrow(/must differ/);
  });
});

describe('STUN server core, plain mode', () => {
  const server = new StunServerCore({ primary: A1P1 });

  it('answers a Binding request with XOR-MAPPED-ADDRESS and no OTHER-ADDRESS', () => {
    const reply = server.handle(request(), client, A1P1);
    const message = decodeReply(reply!.bytes);
    expect(mappedEndpointOf(message)).toEqual(client);
    expect(findStunAttribute(message, 'other-address')).toBeUndefined();
  });

  it('refuses CHANGE-REQUEST it cannot honour with 420 (RFC 5780 §6.1)', () => {
    const reply = server.handle(
      request([{ type: 'change-request', changeAddress: true, changePort: false }]),
      client,
      A1P1,
    );
    const message = decodeReply(reply!.bytes);
    expect(findStunAttribute(message, 'error-code')?.code).toBe(420);
  });

  it('answers other methods with 400', () => {
    const reply = server.handle(request([], 0x003), client, A1P1);
    expect(findStunAttribute(decodeReply(reply!.bytes), 'error-code')?.code).toBe(400);
  });
});

describe('answerStunDatagram (STUN on a socket shared with the stream)', () => {
  it('answers STUN requests and returns null for stream datagrams', () => {
    const bytes = answerStunDatagram(request(), client);
    expect(bytes).not.toBeNull();
    expect(mappedEndpointOf(decodeReply(bytes!))).toEqual(client);
    expect(
      answerStunDatagram(new Uint8Array([0x80, 0, 0, 0, 0x21, 0x12, 0xa4, 0x42]), client),
    ).toBeNull();
    expect(answerStunDatagram(new Uint8Array(40), client)).toBeNull();
  });

  it('tells a client seen as IPv4-mapped IPv6 (dual-stack socket) its IPv4 endpoint', () => {
    const bytes = answerStunDatagram(request(), { address: '::ffff:198.51.100.7', port: 4000 });
    expect(mappedEndpointOf(decodeReply(bytes!))).toEqual({ address: '198.51.100.7', port: 4000 });
  });

  it('answers over IPv6', () => {
    const v6 = { address: '2001:db8::7', port: 1234 };
    const bytes = answerStunDatagram(request(), v6, {
      local: { address: '2001:db8::1', port: 3478 },
    });
    expect(mappedEndpointOf(decodeReply(bytes!))).toEqual(v6);
  });
});
