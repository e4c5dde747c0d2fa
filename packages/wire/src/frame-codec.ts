import {
  type DecodeError,
  DecodeFailure,
  type DecodeResult,
  failureFrom,
} from './decode-result.js';
import {
  Reader,
  Writer,
  writeBytes,
  writeEndpoint,
  writeEnumeration,
  writeI32,
  writeMemberInfo,
  writeString,
  writeU16,
  writeU32,
} from './fields.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_PREFIX_BYTES,
  MAX_CREDENTIAL_BYTES,
  MAX_MEDIA_TYPE_BYTES,
  MAX_REFUSED_MESSAGE_BYTES,
  NAT_TYPES,
  REFUSED_REASONS,
  ROLES,
  TYPE_CODES,
} from './format.js';
import { readHeader } from './header.js';
import { type FrameMessage, type MemberInfo, PROTOCOL_VERSION } from './messages.js';
import { PUBLIC_KEY_BYTES } from './signing.js';
import { encodeError, WireError } from './wire-error.js';

/** The accept's source key: none (a source that signs nothing) or an Ed25519 public key. */
function writeSourceKey(writer: Writer, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || (key.length !== 0 && key.length !== PUBLIC_KEY_BYTES)) {
    throw encodeError(
      'join-accept.sourceKey',
      `must be empty or a ${PUBLIC_KEY_BYTES}-byte Ed25519 public key`,
    );
  }
  writer.u8(key.length);
  writer.raw(key);
}

export interface FrameOptions {
  /**
   * Largest frame body in bytes (the length prefix excluded). Default
   * DEFAULT_MAX_FRAME_BYTES (1 MiB). Stream headers can be tens of KB.
   */
  readonly maxFrameBytes?: number;
}

function checkMaxFrameBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(value) || value < 2 || value > 0xffff_ffff) {
    throw new WireError(
      'P2PSP_ERR_WIRE_OPTION',
      'maxFrameBytes',
      `must be an integer in [2, 4294967295] (bytes), got ${value}`,
    );
  }
  return value;
}

/**
 * Encodes one TCP frame: a u32 length prefix, then the message. Throws `WireError` naming
 * the field when a value does not fit the format, or when the body is over `maxFrameBytes`
 * (default 1 MiB: the receiver would refuse it; raise the limit on both ends).
 */
export function encodeFrame(message: FrameMessage, options: FrameOptions = {}): Uint8Array {
  const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes);
  const writer = new Writer();
  writer.u32(0); // the length prefix, filled in below
  const type = message.type;
  const code = Object.hasOwn(TYPE_CODES, type) ? TYPE_CODES[type] : undefined;
  if (code === undefined || code >= TYPE_CODES.chunk) {
    throw encodeError(
      'type',
      `"${String(type)}" is not a frame message (datagrams use encodeDatagram)`,
    );
  }
  writer.u8(PROTOCOL_VERSION);
  writer.u8(code);
  switch (message.type) {
    case 'join-request':
      writeEnumeration(writer, ROLES, message.role, 'join-request.role');
      writeEnumeration(writer, NAT_TYPES, message.nat.type, 'join-request.nat.type');
      writeI32(writer, message.nat.portStep, 'join-request.nat.portStep');
      writeEndpoint(writer, message.privateEndpoint, true, 'join-request.privateEndpoint');
      writeEndpoint(writer, message.nat.mappedEndpoint, true, 'join-request.nat.mappedEndpoint');
      writeBytes(writer, message.credential, 2, MAX_CREDENTIAL_BYTES, 'join-request.credential');
      break;
    case 'join-accept':
      writeU32(writer, message.memberId, 'join-accept.memberId');
      writeU16(writer, message.chunkSize, 'join-accept.chunkSize');
      writeU32(writer, message.bufferSize, 'join-accept.bufferSize');
      writeU16(writer, message.monitorCount, 'join-accept.monitorCount');
      writeU32(writer, message.chunkIntervalMicros, 'join-accept.chunkIntervalMicros');
      writeU32(writer, message.nextChunkNumber, 'join-accept.nextChunkNumber');
      writeEndpoint(writer, message.observedEndpoint, false, 'join-accept.observedEndpoint');
      writeString(writer, message.mediaType, 1, MAX_MEDIA_TYPE_BYTES, 'join-accept.mediaType');
      // Bounded by the body check below (maxFrameBytes), whose message names the fix.
      writeBytes(writer, message.header, 4, 0xffff_ffff, 'join-accept.header');
      writeU16(writer, message.members.length, 'join-accept.members.length');
      message.members.forEach((member, index) => {
        writeMemberInfo(writer, member, `join-accept.members[${index}]`);
      });
      writeSourceKey(writer, message.sourceKey);
      break;
    case 'join-refused':
      writeEnumeration(writer, REFUSED_REASONS, message.reason, 'join-refused.reason');
      writeEndpoint(writer, message.redirect, true, 'join-refused.redirect');
      writeString(writer, message.message, 2, MAX_REFUSED_MESSAGE_BYTES, 'join-refused.message');
      break;
  }
  const frame = writer.finish();
  const bodyLength = frame.length - FRAME_PREFIX_BYTES;
  if (bodyLength > maxFrameBytes) {
    throw encodeError(
      type,
      `frame body is ${bodyLength} bytes, over maxFrameBytes ${maxFrameBytes}: the receiver would refuse it (shrink the header or member list, or raise maxFrameBytes on both ends)`,
    );
  }
  new DataView(frame.buffer, frame.byteOffset).setUint32(0, bodyLength);
  return frame;
}

/**
 * Decodes one whole frame BODY (the bytes after the length prefix). Never throws. Byte
 * fields (`header`, `credential`) are views into `bytes` (zero-copy).
 */
export function decodeFrame(bytes: Uint8Array): DecodeResult<FrameMessage> {
  try {
    return { ok: true, message: decodeFrameBody(bytes) };
  } catch (thrown) {
    return failureFrom(thrown);
  }
}

function decodeFrameBody(bytes: Uint8Array): FrameMessage {
  const reader = new Reader(bytes, 0);
  const type = readHeader(reader, 'frame');
  let message: FrameMessage;
  switch (type) {
    case 'join-request': {
      const role = reader.enumeration(ROLES, 'join-request.role');
      const natType = reader.enumeration(NAT_TYPES, 'join-request.nat.type');
      const portStep = reader.i32('join-request.nat.portStep');
      const privateEndpoint = reader.endpoint('join-request.privateEndpoint', true);
      const mappedEndpoint = reader.endpoint('join-request.nat.mappedEndpoint', true);
      const credentialLength = reader.u16('join-request.credential.length');
      if (credentialLength > MAX_CREDENTIAL_BYTES) {
        throw new DecodeFailure(
          'bad-length',
          `join-request.credential: ${credentialLength} bytes, at most ${MAX_CREDENTIAL_BYTES}`,
        );
      }
      const credential = reader.subarray(credentialLength, 'join-request.credential');
      message = {
        type,
        role,
        privateEndpoint,
        nat: { type: natType, portStep, mappedEndpoint },
        credential,
      };
      break;
    }
    case 'join-accept': {
      const memberId = reader.u32('join-accept.memberId');
      const chunkSize = reader.u16('join-accept.chunkSize');
      const bufferSize = reader.u32('join-accept.bufferSize');
      const monitorCount = reader.u16('join-accept.monitorCount');
      const chunkIntervalMicros = reader.u32('join-accept.chunkIntervalMicros');
      const nextChunkNumber = reader.u32('join-accept.nextChunkNumber');
      const observedEndpoint = reader.endpoint('join-accept.observedEndpoint', false);
      // A u8 length cannot exceed MAX_MEDIA_TYPE_BYTES (255).
      const mediaType = reader.utf8(
        reader.u8('join-accept.mediaType.length'),
        'join-accept.mediaType',
      );
      const headerLength = reader.u32('join-accept.header.length');
      const header = reader.subarray(headerLength, 'join-accept.header');
      const memberCount = reader.u16('join-accept.members.length');
      // Each entry is at least 13 bytes: refuse an impossible count before looping.
      reader.need(memberCount * 13, 'join-accept.members');
      const members: MemberInfo[] = [];
      for (let index = 0; index < memberCount; index++) {
        members.push(reader.memberInfo(`join-accept.members[${index}]`));
      }
      const sourceKeyLength = reader.u8('join-accept.sourceKey.length');
      if (sourceKeyLength !== 0 && sourceKeyLength !== PUBLIC_KEY_BYTES) {
        throw new DecodeFailure(
          'bad-length',
          `join-accept.sourceKey: ${sourceKeyLength} bytes, must be 0 or ${PUBLIC_KEY_BYTES}`,
        );
      }
      const sourceKey = reader.subarray(sourceKeyLength, 'join-accept.sourceKey');
      message = {
        type,
        memberId,
        observedEndpoint,
        chunkSize,
        bufferSize,
        monitorCount,
        chunkIntervalMicros,
        nextChunkNumber,
        mediaType,
        header,
        members,
        sourceKey,
      };
      break;
    }
    case 'join-refused': {
      const reason = reader.enumeration(REFUSED_REASONS, 'join-refused.reason');
      const redirect = reader.endpoint('join-refused.redirect', true);
      const messageLength = reader.u16('join-refused.message.length');
      if (messageLength > MAX_REFUSED_MESSAGE_BYTES) {
        throw new DecodeFailure(
          'bad-length',
          `join-refused.message: ${messageLength} bytes, at most ${MAX_REFUSED_MESSAGE_BYTES}`,
        );
      }
      message = {
        type,
        reason,
        redirect,
        message: reader.utf8(messageLength, 'join-refused.message'),
      };
      break;
    }
    default:
      throw new DecodeFailure('unknown-type', `type ${type} is a datagram, not a TCP frame`);
  }
  reader.end(type);
  return message;
}

/**
 * Sans-IO reassembly of length-prefixed frames from a TCP byte stream: `push()` the bytes of
 * each read, then drain results with `poll()` or by iterating. Each result is a message or a
 * typed error; a bad frame body is reported and skipped (the framing is intact).
 *
 * A declared length over `maxFrameBytes` yields `frame-too-large` as soon as the 4-byte
 * prefix is in, before the body arrives: the caller should close the connection. The
 * decoder then stays failed (`failed` is true) and discards anything pushed later.
 * `bufferedBytes` > 0 for long means a stalled partial frame.
 */
export class FrameDecoder implements Iterable<DecodeResult<FrameMessage>> {
  readonly maxFrameBytes: number;
  private readonly pending: Uint8Array[] = [];
  /** Bytes of pending[0] already consumed. */
  private head = 0;
  private buffered = 0;
  private failure: DecodeError | null = null;
  private failureReported = false;

  constructor(options: FrameOptions = {}) {
    this.maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes);
  }

  /** Bytes received and not yet returned as frames (a partial frame, when nonzero). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True after `frame-too-large`: the stream cannot be resynchronised; close it. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Appends bytes read from the connection. The decoder keeps references, not copies. */
  push(bytes: Uint8Array): void {
    if (this.failure !== null || bytes.length === 0) return;
    this.pending.push(bytes);
    this.buffered += bytes.length;
  }

  /** The next complete frame's result, or undefined when more bytes are needed. */
  poll(): DecodeResult<FrameMessage> | undefined {
    if (this.failure !== null) {
      if (this.failureReported) return undefined;
      this.failureReported = true;
      return { ok: false, error: this.failure };
    }
    if (this.buffered < FRAME_PREFIX_BYTES) return undefined;
    const prefix = this.peek(FRAME_PREFIX_BYTES);
    const bodyLength =
      ((prefix[0]! << 24) | (prefix[1]! << 16) | (prefix[2]! << 8) | prefix[3]!) >>> 0;
    if (bodyLength > this.maxFrameBytes) {
      this.failure = {
        code: 'frame-too-large',
        detail: `frame declares ${bodyLength} bytes, over maxFrameBytes ${this.maxFrameBytes}`,
      };
      this.failureReported = true;
      this.pending.length = 0;
      this.head = 0;
      this.buffered = 0;
      return { ok: false, error: this.failure };
    }
    if (this.buffered < FRAME_PREFIX_BYTES + bodyLength) return undefined;
    this.take(FRAME_PREFIX_BYTES);
    return decodeFrame(this.take(bodyLength));
  }

  *[Symbol.iterator](): Iterator<DecodeResult<FrameMessage>> {
    for (let result = this.poll(); result !== undefined; result = this.poll()) {
      yield result;
    }
  }

  /** The next `count` buffered bytes without consuming them (a view when contiguous). */
  private peek(count: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length - this.head >= count) return first.subarray(this.head, this.head + count);
    return this.gather(count, false);
  }

  /** Consumes `count` buffered bytes: a view when they sit in one pushed chunk, else a copy. */
  private take(count: number): Uint8Array {
    if (count === 0) return new Uint8Array(0);
    const first = this.pending[0]!;
    if (first.length - this.head >= count) {
      const view = first.subarray(this.head, this.head + count);
      this.head += count;
      this.buffered -= count;
      if (this.head === first.length) {
        this.pending.shift();
        this.head = 0;
      }
      return view;
    }
    return this.gather(count, true);
  }

  private gather(count: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(count);
    let written = 0;
    let index = 0;
    let head = this.head;
    while (written < count) {
      const piece = this.pending[index]!;
      const length = Math.min(piece.length - head, count - written);
      out.set(piece.subarray(head, head + length), written);
      written += length;
      head += length;
      if (head === piece.length) {
        index++;
        head = 0;
      }
    }
    if (consume) {
      this.pending.splice(0, index);
      this.head = head;
      this.buffered -= count;
    }
    return out;
  }
}
