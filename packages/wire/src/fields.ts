import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';
import { DecodeFailure } from './decode-result.js';
import type { Endpoint } from './endpoint.js';
import { FAMILY_IPV4, FAMILY_IPV6, FAMILY_NONE, NAT_TYPES } from './format.js';
import type { MemberFlags, MemberInfo } from './messages.js';
import { encodeError } from './wire-error.js';

/**
 * Field readers and writers shared by the datagram and frame codecs. All integers are
 * big-endian (network byte order, RFC 1700). Readers throw `DecodeFailure`, which the
 * public decoders always catch.
 */

const EMPTY: Uint8Array = new Uint8Array(0);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class Reader {
  offset: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    offset: number,
  ) {
    this.offset = offset;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(count: number, field: string): void {
    if (this.offset + count > this.bytes.length) {
      throw new DecodeFailure(
        'truncated',
        `${field}: needs ${count} bytes at offset ${this.offset}, ${this.bytes.length - this.offset} left`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.offset++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  i32(field: string): number {
    this.need(4, field);
    const value = this.view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }

  /** u64 limited to Number.MAX_SAFE_INTEGER (2^53 - 1). */
  u64(field: string): number {
    this.need(8, field);
    const high = this.view.getUint32(this.offset);
    const low = this.view.getUint32(this.offset + 4);
    this.offset += 8;
    if (high > 0x1f_ffff) {
      throw new DecodeFailure('bad-value', `${field}: above 2^53 - 1`);
    }
    return high * 0x1_0000_0000 + low;
  }

  /** A zero-copy view of the next `count` bytes. */
  subarray(count: number, field: string): Uint8Array {
    if (count === 0) return EMPTY;
    this.need(count, field);
    const view = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return view;
  }

  utf8(count: number, field: string): string {
    const bytes = this.subarray(count, field);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new DecodeFailure('bad-value', `${field}: not valid UTF-8`);
    }
  }

  enumeration<T>(list: readonly T[], field: string): T {
    const code = this.u8(field);
    const value = list[code];
    if (value === undefined) {
      throw new DecodeFailure('bad-value', `${field}: unknown code ${code}`);
    }
    return value;
  }

  /** Family byte, address, port. `optional` allows family 0 for null. */
  endpoint(field: string, optional: true): Endpoint | null;
  endpoint(field: string, optional: false): Endpoint;
  endpoint(field: string, optional: boolean): Endpoint | null {
    const family = this.u8(`${field}.family`);
    if (family === FAMILY_NONE && optional) return null;
    if (family === FAMILY_IPV4) {
      this.need(6, `${field}.address`);
      const address = formatIpv4(this.bytes, this.offset);
      this.offset += 4;
      return { address, port: this.u16(`${field}.port`) };
    }
    if (family === FAMILY_IPV6) {
      this.need(18, `${field}.address`);
      const address = formatIpv6(this.bytes, this.offset);
      this.offset += 16;
      return { address, port: this.u16(`${field}.port`) };
    }
    throw new DecodeFailure('bad-value', `${field}.family: unknown address family ${family}`);
  }

  memberInfo(field: string): MemberInfo {
    const memberId = this.u32(`${field}.memberId`);
    const flagByte = this.u8(`${field}.flags`);
    if (flagByte & ~(MEMBER_FLAG_MASK | MEMBER_FLAG_NAT)) {
      throw new DecodeFailure(
        'bad-value',
        `${field}.flags: reserved bits set (0x${hex(flagByte)})`,
      );
    }
    const flags = MEMBER_FLAGS[flagByte & MEMBER_FLAG_MASK]!;
    const endpoint = this.endpoint(`${field}.endpoint`, false);
    const privateEndpoint = this.endpoint(`${field}.privateEndpoint`, true);
    if ((flagByte & MEMBER_FLAG_NAT) === 0) return { memberId, endpoint, privateEndpoint, flags };
    const type = this.enumeration(NAT_TYPES, `${field}.nat.type`);
    const portStep = this.u16(`${field}.nat.portStep`);
    return {
      memberId,
      endpoint,
      privateEndpoint,
      flags,
      nat: { type, portStep, mappedEndpoint: null },
    };
  }

  /** Fails with `bad-length` when bytes follow the end of the message. */
  end(what: string): void {
    if (this.offset !== this.bytes.length) {
      throw new DecodeFailure(
        'bad-length',
        `${what}: ${this.bytes.length - this.offset} bytes after the end of the message`,
      );
    }
  }
}

const MEMBER_FLAG_MONITOR = 0x01;
const MEMBER_FLAG_EXTERNAL = 0x02;
const MEMBER_FLAG_LIBERATED = 0x04;
const MEMBER_FLAG_MASK = 0x07;
/** Issue 6: a NAT type (u8) and port step (u16) follow the private endpoint. */
const MEMBER_FLAG_NAT = 0x08;
/** The 8 flag combinations, shared and frozen so decoding allocates nothing for them. */
const MEMBER_FLAGS: readonly MemberFlags[] = Array.from({ length: 8 }, (_, bits) =>
  Object.freeze({
    monitor: (bits & MEMBER_FLAG_MONITOR) !== 0,
    external: (bits & MEMBER_FLAG_EXTERNAL) !== 0,
    liberated: (bits & MEMBER_FLAG_LIBERATED) !== 0,
  }),
);

export function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** A growable big-endian writer for the less frequent messages (chunks have a fast path). */
export class Writer {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  private reserve(count: number): number {
    const start = this.length;
    const needed = start + count;
    if (needed > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, start));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return start;
  }

  u8(value: number): void {
    const at = this.reserve(1); // before reading this.bytes: reserve may replace it
    this.bytes[at] = value;
  }

  u16(value: number): void {
    const at = this.reserve(2); // before reading this.view: reserve may replace it
    this.view.setUint16(at, value);
  }

  u32(value: number): void {
    const at = this.reserve(4); // before reading this.view: reserve may replace it
    this.view.setUint32(at, value);
  }

  i32(value: number): void {
    const at = this.reserve(4); // before reading this.view: reserve may replace it
    this.view.setInt32(at, value);
  }

  u64(value: number): void {
    const at = this.reserve(8);
    this.view.setUint32(at, Math.floor(value / 0x1_0000_0000));
    this.view.setUint32(at + 4, value >>> 0);
  }

  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.bytes.set(bytes, at);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

// --- Checked field writers: they throw WireError naming the field (caller misuse).

export function checkInteger(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw encodeError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export function writeU8(writer: Writer, value: number, field: string): void {
  writer.u8(checkInteger(value, 0, 0xff, field));
}

export function writeU16(writer: Writer, value: number, field: string): void {
  writer.u16(checkInteger(value, 0, 0xffff, field));
}

export function writeU32(writer: Writer, value: number, field: string): void {
  writer.u32(checkInteger(value, 0, 0xffff_ffff, field));
}

export function writeI32(writer: Writer, value: number, field: string): void {
  writer.i32(checkInteger(value, -0x8000_0000, 0x7fff_ffff, field));
}

export function writeU64(writer: Writer, value: number, field: string): void {
  writer.u64(checkInteger(value, 0, Number.MAX_SAFE_INTEGER, field));
}

export function writeEnumeration<T>(
  writer: Writer,
  list: readonly T[],
  value: T,
  field: string,
): void {
  const code = list.indexOf(value);
  if (code < 0) throw encodeError(field, `must be one of ${list.join(', ')}, got ${String(value)}`);
  writer.u8(code);
}

/** UTF-8 bytes of `text` with a length prefix of `prefixBytes` (1 or 2), at most `max` bytes. */
export function writeString(
  writer: Writer,
  text: string,
  prefixBytes: 1 | 2,
  max: number,
  field: string,
): void {
  if (typeof text !== 'string') throw encodeError(field, 'must be a string');
  if (LONE_SURROGATE.test(text)) {
    throw encodeError(field, 'has a lone UTF-16 surrogate, which UTF-8 cannot carry');
  }
  const bytes = utf8Encoder.encode(text);
  writeBytes(writer, bytes, prefixBytes, max, field);
}

/** `bytes` with a length prefix of `prefixBytes` (1, 2 or 4), at most `max` bytes. */
export function writeBytes(
  writer: Writer,
  bytes: Uint8Array,
  prefixBytes: 1 | 2 | 4,
  max: number,
  field: string,
): void {
  if (!(bytes instanceof Uint8Array)) throw encodeError(field, 'must be a Uint8Array');
  if (bytes.length > max) {
    throw encodeError(field, `is ${bytes.length} bytes, the format allows at most ${max}`);
  }
  if (prefixBytes === 1) writer.u8(bytes.length);
  else if (prefixBytes === 2) writer.u16(bytes.length);
  else writer.u32(bytes.length);
  writer.raw(bytes);
}

/** Family byte, address, port; `null` (family 0) only where the field is optional. */
export function writeEndpoint(
  writer: Writer,
  endpoint: Endpoint | null,
  optional: boolean,
  field: string,
): void {
  if (endpoint === null && optional) {
    writer.u8(FAMILY_NONE);
    return;
  }
  if (typeof endpoint !== 'object' || endpoint === null || typeof endpoint.address !== 'string') {
    throw encodeError(field, 'must be an endpoint { address, port }');
  }
  const ipv4 = parseIpv4(endpoint.address);
  if (ipv4 !== null) {
    writer.u8(FAMILY_IPV4);
    writer.raw(ipv4);
  } else {
    const ipv6 = parseIpv6(endpoint.address);
    if (ipv6 === null) {
      throw encodeError(
        `${field}.address`,
        `"${endpoint.address}" is not an IPv4 or IPv6 literal (resolve names first; zone ids are not carried)`,
      );
    }
    writer.u8(FAMILY_IPV6);
    writer.raw(ipv6);
  }
  writeU16(writer, endpoint.port, `${field}.port`);
}

export function writeMemberInfo(writer: Writer, member: MemberInfo, field: string): void {
  writeU32(writer, member.memberId, `${field}.memberId`);
  const flags = member.flags;
  // An unknown NAT is not carried: the entry stays as short as before NAT reports existed.
  const nat =
    member.nat === undefined || (member.nat.type === 'unknown' && member.nat.portStep === 0)
      ? null
      : member.nat;
  writer.u8(
    (flags.monitor ? MEMBER_FLAG_MONITOR : 0) |
      (flags.external ? MEMBER_FLAG_EXTERNAL : 0) |
      (flags.liberated ? MEMBER_FLAG_LIBERATED : 0) |
      (nat === null ? 0 : MEMBER_FLAG_NAT),
  );
  writeEndpoint(writer, member.endpoint, false, `${field}.endpoint`);
  writeEndpoint(writer, member.privateEndpoint, true, `${field}.privateEndpoint`);
  if (nat !== null) {
    writeEnumeration(writer, NAT_TYPES, nat.type, `${field}.nat.type`);
    writeU16(writer, nat.portStep, `${field}.nat.portStep`);
  }
}

export { EMPTY };
