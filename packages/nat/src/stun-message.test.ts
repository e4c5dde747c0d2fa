import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';
import {
  decodeStunMessage,
  encodeStunMessage,
  findStunAttribute,
  isStunDatagram,
  mappedEndpointOf,
  STUN_METHOD_BINDING,
  type StunAttribute,
  type StunMessage,
} from './stun-message.js';

const hex = (text: string): Uint8Array =>
  Uint8Array.from(
    (text.replace(/\s+/g, '').match(/../g) ?? []).map((pair) => Number.parseInt(pair, 16)),
  );

// RFC 5769 §2.1-2.4, transcribed from the RFC; the FINGERPRINT checks prove the transcription.
const SAMPLE_REQUEST = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae802200105354554e2074657374
  20636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576
  746a3a683676592020200008001 49aeaa70cbfd8cb56781ef2b5b2d3f249c1b571
  a280280004e57a3bcf`);
const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f
  7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53
  f06be7d780280004c07d4c96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f
  7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e
  4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c`);
const SAMPLE_LONG_TERM_REQUEST = hex(`
  000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae3
  8383e382afe382b90000001500 1c662f2f3439396b39353464364f4c33346f4c39
  465354767936347341001400 0b6578616d706c652e6f726700000800 14f6702465
  6dd64a3e02b8e0712e85c9a28ca89666`);

describe('STUN codec: RFC 5769 test vectors', () => {
  it('crc32 is the ISO-HDLC CRC (check value of "123456789")', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('§2.1 sample request: fingerprint valid, software read, unknown required attributes listed', () => {
    const result = decodeStunMessage(SAMPLE_REQUEST);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { message } = result;
    expect(message.messageClass).toBe('request');
    expect(message.method).toBe(STUN_METHOD_BINDING);
    expect(message.fingerprint).toBe(true);
    expect(findStunAttribute(message, 'software')?.value).toBe('STUN test client');
    // PRIORITY (0x0024), USERNAME (0x0006), MESSAGE-INTEGRITY (0x0008) are comprehension-required.
    expect(message.unknownComprehensionRequired).toEqual([0x0024, 0x0006, 0x0008]);
    const username = message.attributes.find(
      (attribute) => attribute.type === 'unknown' && attribute.attributeType === 0x0006,
    );
    expect(username?.type === 'unknown' && new TextDecoder().decode(username.value)).toBe(
      'evtj:h6vY',
    );
  });

  it('§2.2 sample IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    const result = decodeStunMessage(SAMPLE_IPV4_RESPONSE);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message.messageClass).toBe('success-response');
    expect(result.message.fingerprint).toBe(true);
    expect(mappedEndpointOf(result.message)).toEqual({ address: '192.0.2.1', port: 32853 });
    expect(findStunAttribute(result.message, 'software')?.value).toBe('test vector');
  });

  it('§2.3 sample IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const result = decodeStunMessage(SAMPLE_IPV6_RESPONSE);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message.fingerprint).toBe(true);
    expect(mappedEndpointOf(result.message)).toEqual({
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('§2.4 long-term credential request parses (MESSAGE-INTEGRITY kept, not verified)', () => {
    const result = decodeStunMessage(SAMPLE_LONG_TERM_REQUEST);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message.fingerprint).toBe(false);
    expect(result.message.unknownComprehensionRequired).toEqual([0x0006, 0x0015, 0x0014, 0x0008]);
  });

  it('re-encodes the IPv4 response attributes to the same bytes as the RFC (XOR-MAPPED-ADDRESS)', () => {
    const result = decodeStunMessage(SAMPLE_IPV4_RESPONSE);
    if (!result.ok) throw new Error('vector did not decode');
    const bytes = encodeStunMessage(
      {
        method: STUN_METHOD_BINDING,
        messageClass: 'success-response',
        transactionId: result.message.transactionId,
        attributes: [
          { type: 'xor-mapped-address', endpoint: { address: '192.0.2.1', port: 32853 } },
        ],
      },
      { fingerprint: false },
    );
    expect(Buffer.from(bytes.subarray(20)).toString('hex')).toBe('002000080001a147e112a643');
  });

  it('a flipped bit is caught by FINGERPRINT', () => {
    const corrupted = SAMPLE_IPV4_RESPONSE.slice();
    corrupted[30] = corrupted[30]! ^ 0x01;
    const result = decodeStunMessage(corrupted);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('P2PSP_ERR_STUN_BAD_FINGERPRINT');
  });
});

describe('STUN codec: errors are typed, never thrown', () => {
  it.each([
    ['empty', new Uint8Array(0), 'P2PSP_ERR_STUN_TRUNCATED'],
    [
      'RTP-like first byte',
      hex('80c800062112a442000000000000000000000000'),
      'P2PSP_ERR_STUN_NOT_STUN',
    ],
    ['no cookie', hex('0001000000000000000000000000000000000000'), 'P2PSP_ERR_STUN_NOT_STUN'],
    [
      'length not multiple of 4',
      hex('000100022112a4420000000000000000000000000000'),
      'P2PSP_ERR_STUN_BAD_LENGTH',
    ],
    [
      'length past end',
      hex('000100082112a4420000000000000000000000000000'),
      'P2PSP_ERR_STUN_BAD_LENGTH',
    ],
    [
      'attribute overruns',
      hex('000100082112a442000000000000000000000000 0020 0010 00010000'),
      'P2PSP_ERR_STUN_TRUNCATED',
    ],
    [
      'bad address family',
      hex('000100082112a442000000000000000000000000 0001 0004 00030000'),
      'P2PSP_ERR_STUN_BAD_ATTRIBUTE',
    ],
  ])('%s', (_name, bytes, code) => {
    const result = decodeStunMessage(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(code);
  });

  it('isStunDatagram separates STUN from other first bytes (RFC 7983)', () => {
    expect(isStunDatagram(SAMPLE_REQUEST)).toBe(true);
    const other = SAMPLE_REQUEST.slice();
    other[0] = 0x80;
    expect(isStunDatagram(other)).toBe(false);
  });

  it('10 000 random inputs never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeStunMessage(bytes);
      }),
      { numRuns: 10_000 },
    );
  });

  it('random mutations of valid messages never throw (structure-aware fuzz)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (sample, edits) => {
          const bytes = sample.slice();
          for (const [position, value] of edits)
            bytes[20 + (position % (bytes.length - 20))] = value;
          const result = decodeStunMessage(bytes);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

const ipv4 = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map((parts) => parts.join('.'));
const ipv6 = fc.ipV6().map((text) => {
  // Canonicalise through a round trip of our own parser so expectations use RFC 5952 text.
  const result = decodeStunMessage(
    encodeStunMessage({
      method: 1,
      messageClass: 'request',
      transactionId: new Uint8Array(12),
      attributes: [{ type: 'mapped-address', endpoint: { address: text, port: 1 } }],
    }),
  );
  return result.ok ? (mappedEndpointOf(result.message)?.address ?? text) : text;
});
const endpoint = fc.record({ address: fc.oneof(ipv4, ipv6), port: fc.nat(65535) });
const attribute: fc.Arbitrary<StunAttribute> = fc.oneof(
  endpoint.map((value) => ({ type: 'xor-mapped-address' as const, endpoint: value })),
  endpoint.map((value) => ({ type: 'mapped-address' as const, endpoint: value })),
  endpoint.map((value) => ({ type: 'other-address' as const, endpoint: value })),
  endpoint.map((value) => ({ type: 'response-origin' as const, endpoint: value })),
  fc.record({
    type: fc.constant('error-code' as const),
    code: fc.integer({ min: 300, max: 699 }),
    reason: fc.string({ maxLength: 40 }),
  }),
  fc.string({ maxLength: 60 }).map((value) => ({ type: 'software' as const, value })),
  fc.record({
    type: fc.constant('change-request' as const),
    changeAddress: fc.boolean(),
    changePort: fc.boolean(),
  }),
  fc.nat(65535).map((port) => ({ type: 'response-port' as const, port })),
  fc.nat(64).map((length) => ({ type: 'padding' as const, length })),
  fc
    .array(fc.nat(0xffff), { maxLength: 6 })
    .map((attributeTypes) => ({ type: 'unknown-attributes' as const, attributeTypes })),
  fc
    .record({
      attributeType: fc.integer({ min: 0xc000, max: 0xffff }),
      value: fc.uint8Array({ maxLength: 30 }),
    })
    .map((raw) => ({ type: 'unknown' as const, ...raw })),
);

describe('STUN codec: round trips', () => {
  it('decode(encode(message)) gives the message back, with and without FINGERPRINT', () => {
    fc.assert(
      fc.property(
        fc.record({
          method: fc.nat(0xfff),
          messageClass: fc.constantFrom(
            'request' as const,
            'indication' as const,
            'success-response' as const,
            'error-response' as const,
          ),
          transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
          attributes: fc.array(attribute, { maxLength: 8 }),
        }),
        fc.boolean(),
        (message: StunMessage, fingerprint) => {
          const result = decodeStunMessage(encodeStunMessage(message, { fingerprint }));
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.message.fingerprint).toBe(fingerprint);
          expect(result.message.method).toBe(message.method);
          expect(result.message.messageClass).toBe(message.messageClass);
          expect([...result.message.transactionId]).toEqual([...message.transactionId]);
          expect(result.message.attributes).toEqual(message.attributes);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
