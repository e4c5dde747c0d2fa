import type { Endpoint } from '@p2psp/wire';
import { crc32 } from './crc32.js';
import { formatIpv4, formatIpv6, parseIpAddress } from './ip-address.js';
import { NatError } from './nat-error.js';

/**
 * STUN message codec: RFC 8489 §5 (header), §14 (attributes) and the RFC 5780 §7
 * attributes used for NAT behaviour discovery. Pure functions over bytes; decoding never
 * throws and answers a typed error instead.
 */

/** RFC 8489 §5: the fixed value in bytes 4..8 of every STUN message. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_LENGTH = 20;
export const STUN_TRANSACTION_ID_LENGTH = 12;
/** RFC 8489 §18.2: the only method this package needs. */
export const STUN_METHOD_BINDING = 0x001;
/** RFC 8489 §14.7: CRC-32 of the message is xor'ed with "STUN" so it cannot be a plain CRC. */
const FINGERPRINT_XOR = 0x5354554e;

/** Attribute type numbers (RFC 8489 §18.3, RFC 5780 §9.1). */
export const StunAttributeType = {
  mappedAddress: 0x0001,
  changeRequest: 0x0003,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  xorMappedAddress: 0x0020,
  padding: 0x0026,
  responsePort: 0x0027,
  software: 0x8022,
  fingerprint: 0x8028,
  responseOrigin: 0x802b,
  otherAddress: 0x802c,
} as const;

export type StunClass = 'request' | 'indication' | 'success-response' | 'error-response';

export type StunAttribute =
  | { readonly type: 'mapped-address'; readonly endpoint: Endpoint }
  | { readonly type: 'xor-mapped-address'; readonly endpoint: Endpoint }
  | { readonly type: 'error-code'; readonly code: number; readonly reason: string }
  | { readonly type: 'unknown-attributes'; readonly attributeTypes: readonly number[] }
  | { readonly type: 'software'; readonly value: string }
  | {
      readonly type: 'change-request';
      readonly changeAddress: boolean;
      readonly changePort: boolean;
    }
  | { readonly type: 'response-port'; readonly port: number }
  | { readonly type: 'padding'; readonly length: number }
  | { readonly type: 'response-origin'; readonly endpoint: Endpoint }
  | { readonly type: 'other-address'; readonly endpoint: Endpoint }
  /** Any other attribute, kept as raw bytes (MESSAGE-INTEGRITY, USERNAME, PRIORITY...). */
  | { readonly type: 'unknown'; readonly attributeType: number; readonly value: Uint8Array };

export interface StunMessage {
  readonly method: number;
  readonly messageClass: StunClass;
  /** 12 bytes (RFC 8489 §5). */
  readonly transactionId: Uint8Array;
  readonly attributes: readonly StunAttribute[];
}

export interface DecodedStunMessage extends StunMessage {
  /** True when the message ended with a FINGERPRINT that matched (a wrong one is an error). */
  readonly fingerprint: boolean;
  /**
   * Comprehension-required attribute types (0x0000-0x7FFF, RFC 8489 §14) this codec does not
   * understand: a server answers a request carrying any with 420 (RFC 8489 §6.3.1.1).
   */
  readonly unknownComprehensionRequired: readonly number[];
}

export type StunDecodeErrorCode =
  | 'P2PSP_ERR_STUN_NOT_STUN'
  | 'P2PSP_ERR_STUN_TRUNCATED'
  | 'P2PSP_ERR_STUN_BAD_LENGTH'
  | 'P2PSP_ERR_STUN_BAD_ATTRIBUTE'
  | 'P2PSP_ERR_STUN_BAD_FINGERPRINT';

export type StunDecodeResult =
  | { readonly ok: true; readonly message: DecodedStunMessage }
  | {
      readonly ok: false;
      readonly error: { readonly code: StunDecodeErrorCode; readonly message: string };
    };

export interface StunEncodeOptions {
  /** Append a FINGERPRINT (RFC 8489 §14.7). Default true. */
  readonly fingerprint?: boolean;
}

/**
 * RFC 8489 §5 / RFC 7983 §7 demultiplexing: a datagram is STUN when its two most significant
 * bits are zero, it is long enough for a header, and bytes 4..8 hold the magic cookie. Cheap,
 * so a socket shared with the stream can test every datagram.
 */
export function isStunDatagram(bytes: Uint8Array): boolean {
  return (
    bytes.length >= STUN_HEADER_LENGTH &&
    (bytes[0]! & 0xc0) === 0 &&
    bytes[4] === 0x21 &&
    bytes[5] === 0x12 &&
    bytes[6] === 0xa4 &&
    bytes[7] === 0x42
  );
}

const CLASS_BITS: Record<StunClass, number> = {
  request: 0b00,
  indication: 0b01,
  'success-response': 0b10,
  'error-response': 0b11,
};
const CLASSES: readonly StunClass[] = [
  'request',
  'indication',
  'success-response',
  'error-response',
];

/** RFC 8489 §5 figure 3: the class bits C1 C0 sit at bits 8 and 4 among the method bits. */
function messageType(method: number, messageClass: StunClass): number {
  const classBits = CLASS_BITS[messageClass];
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((classBits & 0b01) << 4) |
    ((classBits & 0b10) << 7)
  );
}

function splitMessageType(type: number): { method: number; messageClass: StunClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const classBits = ((type >> 4) & 0b01) | ((type >> 7) & 0b10);
  return { method, messageClass: CLASSES[classBits]! };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  mask.set(transactionId, 4);
  return mask;
}

/** RFC 8489 §14.1/14.2 address value: reserved, family, port, address (maybe xor'ed). */
function encodeAddress(endpoint: Endpoint, xorWith: Uint8Array | null): Uint8Array {
  const address = parseIpAddress(endpoint.address);
  if (!address)
    throw new NatError(
      'P2PSP_ERR_STUN_ENCODE',
      `STUN: "${endpoint.address}" is not an IPv4 or IPv6 literal`,
    );
  if (!Number.isInteger(endpoint.port) || endpoint.port < 0 || endpoint.port > 0xffff) {
    throw new NatError('P2PSP_ERR_STUN_ENCODE', `STUN: port ${endpoint.port} is outside 0..65535`);
  }
  const value = new Uint8Array(4 + address.length);
  const view = new DataView(value.buffer);
  value[1] = address.length === 4 ? 0x01 : 0x02;
  view.setUint16(2, xorWith ? endpoint.port ^ (STUN_MAGIC_COOKIE >>> 16) : endpoint.port);
  for (let index = 0; index < address.length; index++) {
    value[4 + index] = xorWith ? address[index]! ^ xorWith[index]! : address[index]!;
  }
  return value;
}

function decodeAddress(value: Uint8Array, xorWith: Uint8Array | null): Endpoint | null {
  if (value.length < 4) return null;
  const family = value[1];
  const addressLength = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (addressLength === 0 || value.length !== 4 + addressLength) return null;
  const rawPort = (value[2]! << 8) | value[3]!;
  const port = xorWith ? rawPort ^ (STUN_MAGIC_COOKIE >>> 16) : rawPort;
  const address = new Uint8Array(addressLength);
  for (let index = 0; index < addressLength; index++) {
    address[index] = xorWith ? value[4 + index]! ^ xorWith[index]! : value[4 + index]!;
  }
  return { address: addressLength === 4 ? formatIpv4(address) : formatIpv6(address), port };
}

/** The attributes that carry an endpoint as MAPPED-ADDRESS does (RFC 8489 §14.1). */
const PLAIN_ADDRESS_TYPES = {
  'mapped-address': StunAttributeType.mappedAddress,
  'response-origin': StunAttributeType.responseOrigin,
  'other-address': StunAttributeType.otherAddress,
} as const;

function encodeAttributeValue(
  attribute: StunAttribute,
  transactionId: Uint8Array,
): { attributeType: number; value: Uint8Array } {
  switch (attribute.type) {
    case 'xor-mapped-address':
      return {
        attributeType: StunAttributeType.xorMappedAddress,
        value: encodeAddress(attribute.endpoint, xorMask(transactionId)),
      };
    // RFC 5780 §7.3 and §7.4: RESPONSE-ORIGIN and OTHER-ADDRESS are encoded as MAPPED-ADDRESS.
    case 'mapped-address':
    case 'response-origin':
    case 'other-address':
      return {
        attributeType: PLAIN_ADDRESS_TYPES[attribute.type],
        value: encodeAddress(attribute.endpoint, null),
      };
    case 'error-code': {
      // RFC 8489 §14.8: class (hundreds, 3..6) and number (0..99) in separate fields.
      if (!Number.isInteger(attribute.code) || attribute.code < 300 || attribute.code > 699) {
        throw new NatError(
          'P2PSP_ERR_STUN_ENCODE',
          `STUN: error code ${attribute.code} is outside 300..699`,
        );
      }
      const reason = textEncoder.encode(attribute.reason);
      const value = new Uint8Array(4 + reason.length);
      value[2] = Math.floor(attribute.code / 100);
      value[3] = attribute.code % 100;
      value.set(reason, 4);
      return { attributeType: StunAttributeType.errorCode, value };
    }
    case 'unknown-attributes': {
      const value = new Uint8Array(attribute.attributeTypes.length * 2);
      const view = new DataView(value.buffer);
      attribute.attributeTypes.forEach((type, index) => {
        view.setUint16(index * 2, type);
      });
      return { attributeType: StunAttributeType.unknownAttributes, value };
    }
    case 'software':
      return {
        attributeType: StunAttributeType.software,
        value: textEncoder.encode(attribute.value),
      };
    case 'change-request': {
      // RFC 5780 §7.2: flag A (0x4) change IP, flag B (0x2) change port.
      const value = new Uint8Array(4);
      value[3] = (attribute.changeAddress ? 0x04 : 0) | (attribute.changePort ? 0x02 : 0);
      return { attributeType: StunAttributeType.changeRequest, value };
    }
    case 'response-port': {
      // RFC 5780 §7.5: a 16-bit port and 16 bits of padding.
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint16(0, attribute.port);
      return { attributeType: StunAttributeType.responsePort, value };
    }
    case 'padding':
      return { attributeType: StunAttributeType.padding, value: new Uint8Array(attribute.length) };
    case 'unknown':
      return { attributeType: attribute.attributeType, value: attribute.value };
  }
}

/**
 * Encodes a message. Throws TypeError only for caller mistakes (a bad address literal, a
 * transaction id that is not 12 bytes), never for anything that came from the network.
 */
export function encodeStunMessage(
  message: StunMessage,
  options: StunEncodeOptions = {},
): Uint8Array {
  if (message.transactionId.length !== STUN_TRANSACTION_ID_LENGTH) {
    throw new NatError(
      'P2PSP_ERR_STUN_ENCODE',
      'STUN: the transaction id must be 12 bytes (RFC 8489 §5)',
    );
  }
  const encoded = message.attributes.map((attribute) =>
    encodeAttributeValue(attribute, message.transactionId),
  );
  const withFingerprint = options.fingerprint ?? true;
  let bodyLength = 0;
  for (const { value } of encoded) bodyLength += 4 + ((value.length + 3) & ~3);
  const totalLength = STUN_HEADER_LENGTH + bodyLength + (withFingerprint ? 8 : 0);
  if (totalLength - STUN_HEADER_LENGTH > 0xffff)
    throw new NatError('P2PSP_ERR_STUN_ENCODE', 'STUN: message too long');
  const bytes = new Uint8Array(totalLength);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, messageType(message.method, message.messageClass));
  view.setUint16(2, totalLength - STUN_HEADER_LENGTH);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  bytes.set(message.transactionId, 8);
  let offset = STUN_HEADER_LENGTH;
  for (const { attributeType, value } of encoded) {
    view.setUint16(offset, attributeType);
    view.setUint16(offset + 2, value.length);
    bytes.set(value, offset + 4);
    offset += 4 + ((value.length + 3) & ~3);
  }
  if (withFingerprint) {
    // RFC 8489 §14.7: the CRC covers the message up to the attribute, with the length field
    // already counting the FINGERPRINT attribute (set above).
    view.setUint16(offset, StunAttributeType.fingerprint);
    view.setUint16(offset + 2, 4);
    view.setUint32(offset + 4, (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0);
  }
  return bytes;
}

function failure(code: StunDecodeErrorCode, message: string): StunDecodeResult {
  return { ok: false, error: { code, message } };
}

function decodeAttribute(
  attributeType: number,
  value: Uint8Array,
  transactionId: Uint8Array,
): StunAttribute | null | 'unknown' {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  switch (attributeType) {
    case StunAttributeType.mappedAddress: {
      const endpoint = decodeAddress(value, null);
      return endpoint && { type: 'mapped-address', endpoint };
    }
    case StunAttributeType.xorMappedAddress: {
      const endpoint = decodeAddress(value, xorMask(transactionId));
      return endpoint && { type: 'xor-mapped-address', endpoint };
    }
    case StunAttributeType.responseOrigin: {
      const endpoint = decodeAddress(value, null);
      return endpoint && { type: 'response-origin', endpoint };
    }
    case StunAttributeType.otherAddress: {
      const endpoint = decodeAddress(value, null);
      return endpoint && { type: 'other-address', endpoint };
    }
    case StunAttributeType.errorCode: {
      if (value.length < 4) return null;
      const errorClass = value[2]! & 0x07;
      const errorNumber = value[3]!;
      if (errorClass < 3 || errorClass > 6 || errorNumber > 99) return null;
      return {
        type: 'error-code',
        code: errorClass * 100 + errorNumber,
        reason: textDecoder.decode(value.subarray(4)),
      };
    }
    case StunAttributeType.unknownAttributes: {
      if (value.length % 2 !== 0) return null;
      const attributeTypes: number[] = [];
      for (let index = 0; index < value.length; index += 2)
        attributeTypes.push(view.getUint16(index));
      return { type: 'unknown-attributes', attributeTypes };
    }
    case StunAttributeType.software:
      return { type: 'software', value: textDecoder.decode(value) };
    case StunAttributeType.changeRequest: {
      if (value.length !== 4) return null;
      const flags = value[3]!;
      return {
        type: 'change-request',
        changeAddress: (flags & 0x04) !== 0,
        changePort: (flags & 0x02) !== 0,
      };
    }
    case StunAttributeType.responsePort:
      if (value.length !== 4) return null;
      return { type: 'response-port', port: view.getUint16(0) };
    case StunAttributeType.padding:
      return { type: 'padding', length: value.length };
    default:
      return 'unknown';
  }
}

/** Decodes one datagram. Never throws: bad input gives `{ok: false, error: {code, message}}`. */
export function decodeStunMessage(bytes: Uint8Array): StunDecodeResult {
  if (bytes.length < STUN_HEADER_LENGTH) {
    return failure(
      'P2PSP_ERR_STUN_TRUNCATED',
      `${bytes.length} bytes is shorter than a STUN header`,
    );
  }
  if (!isStunDatagram(bytes)) {
    return failure(
      'P2PSP_ERR_STUN_NOT_STUN',
      'the first two bits are not zero or the magic cookie is missing (RFC 8489 §5)',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getUint16(2);
  if (declaredLength % 4 !== 0) {
    return failure(
      'P2PSP_ERR_STUN_BAD_LENGTH',
      `message length ${declaredLength} is not a multiple of 4`,
    );
  }
  if (STUN_HEADER_LENGTH + declaredLength !== bytes.length) {
    return failure(
      'P2PSP_ERR_STUN_BAD_LENGTH',
      `header says ${declaredLength} bytes of attributes, the datagram has ${bytes.length - STUN_HEADER_LENGTH}`,
    );
  }
  const { method, messageClass } = splitMessageType(view.getUint16(0));
  const transactionId = bytes.slice(8, STUN_HEADER_LENGTH);
  const attributes: StunAttribute[] = [];
  const unknownComprehensionRequired: number[] = [];
  let fingerprint = false;
  let offset = STUN_HEADER_LENGTH;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) {
      return failure('P2PSP_ERR_STUN_TRUNCATED', `attribute header at byte ${offset} is cut short`);
    }
    const attributeType = view.getUint16(offset);
    const valueLength = view.getUint16(offset + 2);
    const paddedLength = (valueLength + 3) & ~3;
    if (offset + 4 + paddedLength > bytes.length) {
      return failure(
        'P2PSP_ERR_STUN_TRUNCATED',
        `attribute 0x${attributeType.toString(16)} at byte ${offset} overruns the message`,
      );
    }
    const value = bytes.subarray(offset + 4, offset + 4 + valueLength);
    if (fingerprint) {
      // RFC 8489 §14.7: FINGERPRINT is last; anything after it is ignored.
      offset += 4 + paddedLength;
      continue;
    }
    if (attributeType === StunAttributeType.fingerprint) {
      if (valueLength !== 4) {
        return failure('P2PSP_ERR_STUN_BAD_ATTRIBUTE', 'FINGERPRINT value is not 4 bytes');
      }
      // The CRC covers the message up to this attribute, with the length as sent.
      const expected = (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(offset + 4) !== expected) {
        return failure(
          'P2PSP_ERR_STUN_BAD_FINGERPRINT',
          'FINGERPRINT does not match the message (corrupted, or not STUN)',
        );
      }
      fingerprint = true;
      offset += 8;
      continue;
    }
    const attribute = decodeAttribute(attributeType, value, transactionId);
    if (attribute === null) {
      return failure(
        'P2PSP_ERR_STUN_BAD_ATTRIBUTE',
        `attribute 0x${attributeType.toString(16).padStart(4, '0')} has a malformed value`,
      );
    }
    if (attribute === 'unknown') {
      attributes.push({ type: 'unknown', attributeType, value: value.slice() });
      if (attributeType < 0x8000) unknownComprehensionRequired.push(attributeType);
    } else {
      attributes.push(attribute);
    }
    offset += 4 + paddedLength;
  }
  return {
    ok: true,
    message: {
      method,
      messageClass,
      transactionId,
      attributes,
      fingerprint,
      unknownComprehensionRequired,
    },
  };
}

/** The first attribute of a type, typed. */
export function findStunAttribute<Type extends StunAttribute['type']>(
  message: StunMessage,
  type: Type,
): Extract<StunAttribute, { type: Type }> | undefined {
  return message.attributes.find(
    (attribute): attribute is Extract<StunAttribute, { type: Type }> => attribute.type === type,
  );
}

/** XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an RFC 3489 server (RFC 8489 §14.1). */
export function mappedEndpointOf(message: StunMessage): Endpoint | null {
  return (
    findStunAttribute(message, 'xor-mapped-address')?.endpoint ??
    findStunAttribute(message, 'mapped-address')?.endpoint ??
    null
  );
}

export function sameTransactionId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

export function transactionIdKey(transactionId: Uint8Array): string {
  let key = '';
  for (const byte of transactionId) key += byte.toString(16).padStart(2, '0');
  return key;
}
