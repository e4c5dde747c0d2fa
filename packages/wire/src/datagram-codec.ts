import { DecodeFailure, type DecodeResult, failure, failureFrom } from './decode-result.js';
import {
  checkInteger,
  EMPTY,
  hex,
  Reader,
  Writer,
  writeBytes,
  writeEndpoint,
  writeEnumeration,
  writeMemberInfo,
  writeString,
  writeU16,
  writeU32,
  writeU64,
} from './fields.js';
import {
  CHUNK_HEADER_BYTES,
  GOODBYE_REASONS,
  MAX_SIGNATURE_BYTES,
  MAX_STREAM_INFO_TEXT_BYTES,
  MAX_STREAM_TITLE_BYTES,
  PEER_LIST_PAGE_SIZE,
  TYPE_CODES,
} from './format.js';
import { readHeader } from './header.js';
import { MAX_MEMBERSHIP_CREDENTIAL_BYTES } from './membership-credential.js';
import {
  type Chunk,
  type ChunkFlags,
  type DatagramMessage,
  type MemberInfo,
  type PeerListReply,
  PROTOCOL_VERSION,
} from './messages.js';
import { encodeError } from './wire-error.js';

const CHUNK_TYPE = TYPE_CODES.chunk;
const CHUNK_FLAG_NON_EXCLUSIVE = 0x01;
const CHUNK_FLAG_RECOVERED = 0x02;
const CHUNK_FLAG_MASK = 0x03;
/** The 4 flag combinations, shared and frozen: decoding a chunk allocates no flags object. */
const CHUNK_FLAGS: readonly ChunkFlags[] = Array.from({ length: 4 }, (_, bits) =>
  Object.freeze({
    nonExclusive: (bits & CHUNK_FLAG_NON_EXCLUSIVE) !== 0,
    recovered: (bits & CHUNK_FLAG_RECOVERED) !== 0,
  }),
);

/**
 * Encodes one UDP datagram. The result may be a view into a shared slab (like
 * Buffer.allocUnsafe): use it with its byteOffset/byteLength, never its whole `.buffer`.
 * Throws `WireError` (code `P2PSP_ERR_WIRE_ENCODE`) naming the
 * field when a value does not fit the format: that is a bug in the caller, not bad input.
 */
export function encodeDatagram(message: DatagramMessage): Uint8Array {
  if (message.type === 'chunk') return encodeChunk(message);
  const writer = new Writer();
  const type = message.type;
  const code = Object.hasOwn(TYPE_CODES, type) ? TYPE_CODES[type] : undefined;
  if (code === undefined || code < CHUNK_TYPE) {
    throw encodeError(
      'type',
      `"${String(type)}" is not a datagram message (frames use encodeFrame)`,
    );
  }
  writer.u8(PROTOCOL_VERSION);
  writer.u8(code);
  switch (message.type) {
    case 'hello':
    case 'hello-ack': {
      writeU32(writer, message.memberId, `${type}.memberId`);
      writeU32(writer, message.nonce, `${type}.nonce`);
      const credential = message.credential;
      if (credential !== undefined && credential.length > 0) {
        writeBytes(writer, credential, 1, MAX_MEMBERSHIP_CREDENTIAL_BYTES, `${type}.credential`);
      }
      break;
    }
    case 'goodbye':
      writeU32(writer, message.memberId, 'goodbye.memberId');
      writeEnumeration(writer, GOODBYE_REASONS, message.reason, 'goodbye.reason');
      break;
    case 'lost-chunk':
      writeU32(writer, message.memberId, 'lost-chunk.memberId');
      writeU32(writer, message.chunkNumber, 'lost-chunk.chunkNumber');
      break;
    case 'peer-list-request':
      writeU32(writer, message.memberId, 'peer-list-request.memberId');
      break;
    case 'member-silent':
      writeU32(writer, message.memberId, 'member-silent.memberId');
      writeU32(writer, message.silentMemberId, 'member-silent.silentMemberId');
      break;
    case 'child-report':
      writeU16(writer, message.joinPort, 'child-report.joinPort');
      writeU32(writer, message.members, 'child-report.members');
      writeU32(writer, message.capacity, 'child-report.capacity');
      break;
    case 'chunk-request':
      writeU32(writer, message.memberId, 'chunk-request.memberId');
      writeU32(writer, message.chunkNumber, 'chunk-request.chunkNumber');
      break;
    case 'peer-list-reply': {
      const { offset, total, members } = message;
      writeU16(writer, offset, 'peer-list-reply.offset');
      writeU16(writer, total, 'peer-list-reply.total');
      if (members.length > PEER_LIST_PAGE_SIZE) {
        throw encodeError(
          'peer-list-reply.members',
          `${members.length} members do not fit one datagram: at most PEER_LIST_PAGE_SIZE (${PEER_LIST_PAGE_SIZE}); page them with peerListReplies()`,
        );
      }
      if (offset + members.length > total) {
        throw encodeError(
          'peer-list-reply.offset',
          `offset + members (${offset + members.length}) exceeds total ${total}`,
        );
      }
      writer.u8(members.length);
      members.forEach((member, index) => {
        writeMemberInfo(writer, member, `peer-list-reply.members[${index}]`);
      });
      break;
    }
    case 'external-peer':
      writeU32(writer, message.memberId, 'external-peer.memberId');
      writeEndpoint(writer, message.endpoint, false, 'external-peer.endpoint');
      break;
    case 'stats-report':
      writeU32(writer, message.memberId, 'stats-report.memberId');
      writeU64(writer, message.chunksReceived, 'stats-report.chunksReceived');
      writeU64(writer, message.chunksLost, 'stats-report.chunksLost');
      writeU64(writer, message.chunksPlayed, 'stats-report.chunksPlayed');
      writeU64(writer, message.chunksSent, 'stats-report.chunksSent');
      writeU32(writer, message.bufferFill, 'stats-report.bufferFill');
      writeU32(writer, message.players, 'stats-report.players');
      writeU32(writer, message.neighbours, 'stats-report.neighbours');
      break;
    case 'stream-metadata': {
      const { info } = message;
      writeU32(writer, message.sequence, 'stream-metadata.sequence');
      writeU32(writer, message.chunkNumber, 'stream-metadata.chunkNumber');
      writeU32(writer, info.bitrate, 'stream-metadata.info.bitrate');
      writeString(writer, message.title, 2, MAX_STREAM_TITLE_BYTES, 'stream-metadata.title');
      for (const field of STREAM_INFO_TEXTS) {
        writeString(
          writer,
          info[field],
          1,
          MAX_STREAM_INFO_TEXT_BYTES,
          `stream-metadata.info.${field}`,
        );
      }
      break;
    }
  }
  return writer.finish();
}

/**
 * Chunk datagrams are carved from shared 16 KiB slabs, as Node's Buffer.allocUnsafe does
 * with its pool: a fresh zeroed ArrayBuffer per chunk made encoding ~3x slower (allocation
 * dominated; see docs/benchmarks.md). Ranges are never reused, so each result owns its
 * bytes; only its `.buffer` is shared, so callers must honour byteOffset/byteLength.
 */
const SLAB_BYTES = 16 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_BYTES / 4) return new Uint8Array(size);
  if (slabOffset + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const bytes = new Uint8Array(slab, slabOffset, size);
  slabOffset += (size + 7) & ~7; // 8-byte aligned starts
  return bytes;
}

/** The chunk fast path: fixed 14-byte header (README "chunk"), one slab carve. */
function encodeChunk(chunk: Chunk): Uint8Array {
  const { payload, signature, flags } = chunk;
  if (!(payload instanceof Uint8Array) || payload.length > 0xffff) {
    throw encodeError('chunk.payload', 'must be a Uint8Array of at most 65,535 bytes');
  }
  if (!(signature instanceof Uint8Array) || signature.length > MAX_SIGNATURE_BYTES) {
    throw encodeError(
      'chunk.signature',
      `must be a Uint8Array of at most ${MAX_SIGNATURE_BYTES} bytes (empty when unsigned)`,
    );
  }
  const chunkNumber = checkInteger(chunk.chunkNumber, 0, 0xffff_ffff, 'chunk.chunkNumber');
  const origin = checkInteger(chunk.origin, 0, 0xffff_ffff, 'chunk.origin');
  const payloadLength = payload.length;
  const bytes = allocate(CHUNK_HEADER_BYTES + payloadLength + signature.length);
  bytes[0] = PROTOCOL_VERSION;
  bytes[1] = CHUNK_TYPE;
  bytes[2] =
    (flags.nonExclusive ? CHUNK_FLAG_NON_EXCLUSIVE : 0) |
    (flags.recovered ? CHUNK_FLAG_RECOVERED : 0);
  bytes[3] = signature.length;
  bytes[4] = chunkNumber >>> 24;
  bytes[5] = chunkNumber >>> 16;
  bytes[6] = chunkNumber >>> 8;
  bytes[7] = chunkNumber;
  bytes[8] = origin >>> 24;
  bytes[9] = origin >>> 16;
  bytes[10] = origin >>> 8;
  bytes[11] = origin;
  bytes[12] = payloadLength >>> 8;
  bytes[13] = payloadLength;
  bytes.set(payload, CHUNK_HEADER_BYTES);
  if (signature.length > 0) bytes.set(signature, CHUNK_HEADER_BYTES + payloadLength);
  return bytes;
}

/**
 * True for a datagram of this protocol other than a chunk: control (stats reports, hellos,
 * acks, goodbyes, lost-chunk...), told from the stream by its header bytes alone. A host
 * sends control first when its upload backs up: a member's reports must reach the source
 * within its member timeout (rule 6).
 */
export function isControlDatagram(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === PROTOCOL_VERSION && bytes[1] !== CHUNK_TYPE;
}

/**
 * Decodes one UDP datagram. Never throws. A chunk's `payload` and `signature` are views
 * into `bytes` (zero-copy): copy them if `bytes` will be reused.
 */
export function decodeDatagram(bytes: Uint8Array): DecodeResult<DatagramMessage> {
  if (
    bytes.length >= CHUNK_HEADER_BYTES &&
    bytes[0] === PROTOCOL_VERSION &&
    bytes[1] === CHUNK_TYPE
  ) {
    return decodeChunk(bytes);
  }
  try {
    return { ok: true, message: decodeOtherDatagram(bytes) };
  } catch (thrown) {
    return failureFrom(thrown);
  }
}

function decodeChunk(bytes: Uint8Array): DecodeResult<Chunk> {
  const flagByte = bytes[2]!;
  if (flagByte & ~CHUNK_FLAG_MASK) {
    return failure('bad-value', `chunk.flags: reserved bits set (0x${hex(flagByte)})`);
  }
  const signatureLength = bytes[3]!;
  const payloadLength = (bytes[12]! << 8) | bytes[13]!;
  const payloadEnd = CHUNK_HEADER_BYTES + payloadLength;
  const end = payloadEnd + signatureLength;
  if (bytes.length !== end) {
    return bytes.length < end
      ? failure('truncated', `chunk: declares ${end} bytes, got ${bytes.length}`)
      : failure('bad-length', `chunk: ${bytes.length - end} bytes after the end of the message`);
  }
  return {
    ok: true,
    message: {
      type: 'chunk',
      chunkNumber: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
      origin: ((bytes[8]! << 24) | (bytes[9]! << 16) | (bytes[10]! << 8) | bytes[11]!) >>> 0,
      flags: CHUNK_FLAGS[flagByte]!,
      payload: bytes.subarray(CHUNK_HEADER_BYTES, payloadEnd),
      signature: signatureLength === 0 ? EMPTY : bytes.subarray(payloadEnd, end),
    },
  };
}

function decodeOtherDatagram(bytes: Uint8Array): DatagramMessage {
  const reader = new Reader(bytes, 0);
  const type = readHeader(reader, 'datagram');
  let message: DatagramMessage;
  switch (type) {
    case 'chunk': {
      // Only reached when shorter than the fixed header.
      reader.need(CHUNK_HEADER_BYTES - 2, 'chunk header');
      throw new DecodeFailure('truncated', 'chunk header');
    }
    case 'hello':
    case 'hello-ack': {
      const memberId = reader.u32(`${type}.memberId`);
      const nonce = reader.u32(`${type}.nonce`);
      if (reader.offset === bytes.length) {
        message = { type, memberId, nonce };
        break;
      }
      // The optional credential: one length byte, never 0 (absent is shorter), bounded.
      const length = reader.u8(`${type}.credential.length`);
      if (length === 0 || length > MAX_MEMBERSHIP_CREDENTIAL_BYTES) {
        throw new DecodeFailure(
          'bad-length',
          `${type}.credential: ${length} bytes, 1 to ${MAX_MEMBERSHIP_CREDENTIAL_BYTES}`,
        );
      }
      message = {
        type,
        memberId,
        nonce,
        credential: reader.subarray(length, `${type}.credential`),
      };
      break;
    }
    case 'goodbye':
      message = {
        type,
        memberId: reader.u32('goodbye.memberId'),
        reason: reader.enumeration(GOODBYE_REASONS, 'goodbye.reason'),
      };
      break;
    case 'lost-chunk':
      message = {
        type,
        memberId: reader.u32('lost-chunk.memberId'),
        chunkNumber: reader.u32('lost-chunk.chunkNumber'),
      };
      break;
    case 'peer-list-request':
      message = { type, memberId: reader.u32('peer-list-request.memberId') };
      break;
    case 'member-silent':
      message = {
        type,
        memberId: reader.u32('member-silent.memberId'),
        silentMemberId: reader.u32('member-silent.silentMemberId'),
      };
      break;
    case 'child-report':
      message = {
        type,
        joinPort: reader.u16('child-report.joinPort'),
        members: reader.u32('child-report.members'),
        capacity: reader.u32('child-report.capacity'),
      };
      break;
    case 'chunk-request':
      message = {
        type,
        memberId: reader.u32('chunk-request.memberId'),
        chunkNumber: reader.u32('chunk-request.chunkNumber'),
      };
      break;
    case 'peer-list-reply': {
      const offset = reader.u16('peer-list-reply.offset');
      const total = reader.u16('peer-list-reply.total');
      const count = reader.u8('peer-list-reply.count');
      if (count > PEER_LIST_PAGE_SIZE) {
        throw new DecodeFailure(
          'bad-length',
          `peer-list-reply.count: ${count} is over PEER_LIST_PAGE_SIZE (${PEER_LIST_PAGE_SIZE})`,
        );
      }
      if (offset + count > total) {
        throw new DecodeFailure(
          'bad-value',
          `peer-list-reply: offset ${offset} + count ${count} exceeds total ${total}`,
        );
      }
      const members: MemberInfo[] = [];
      for (let index = 0; index < count; index++) {
        members.push(reader.memberInfo(`peer-list-reply.members[${index}]`));
      }
      message = { type, offset, total, members };
      break;
    }
    case 'external-peer':
      message = {
        type,
        memberId: reader.u32('external-peer.memberId'),
        endpoint: reader.endpoint('external-peer.endpoint', false),
      };
      break;
    case 'stats-report':
      message = {
        type,
        memberId: reader.u32('stats-report.memberId'),
        chunksReceived: reader.u64('stats-report.chunksReceived'),
        chunksLost: reader.u64('stats-report.chunksLost'),
        chunksPlayed: reader.u64('stats-report.chunksPlayed'),
        chunksSent: reader.u64('stats-report.chunksSent'),
        bufferFill: reader.u32('stats-report.bufferFill'),
        players: reader.u32('stats-report.players'),
        neighbours: reader.u32('stats-report.neighbours'),
      };
      break;
    case 'stream-metadata': {
      const sequence = reader.u32('stream-metadata.sequence');
      const chunkNumber = reader.u32('stream-metadata.chunkNumber');
      const bitrate = reader.u32('stream-metadata.info.bitrate');
      const title = readText(reader, 2, MAX_STREAM_TITLE_BYTES, 'stream-metadata.title');
      const [name, description, genre, url] = STREAM_INFO_TEXTS.map((field) =>
        readText(reader, 1, MAX_STREAM_INFO_TEXT_BYTES, `stream-metadata.info.${field}`),
      ) as [string, string, string, string];
      message = {
        type,
        sequence,
        chunkNumber,
        title,
        info: { name, description, genre, url, bitrate },
      };
      break;
    }
    default:
      throw new DecodeFailure(
        'unknown-type',
        `type 0x${hex(bytes[1]!)} (${type}) is a TCP frame, not a datagram`,
      );
  }
  reader.end(type);
  return message;
}

/** The text fields of `StreamInfo`, in wire order (README "stream-metadata"). */
const STREAM_INFO_TEXTS = ['name', 'description', 'genre', 'url'] as const;

/** A length-prefixed UTF-8 text of at most `max` bytes (more is `bad-length`). */
function readText(reader: Reader, prefixBytes: 1 | 2, max: number, field: string): string {
  const length = prefixBytes === 1 ? reader.u8(`${field}.length`) : reader.u16(`${field}.length`);
  if (length > max) {
    throw new DecodeFailure('bad-length', `${field}: ${length} bytes, at most ${max}`);
  }
  return reader.utf8(length, field);
}

/**
 * Splits a member list into peer-list-reply datagrams of at most PEER_LIST_PAGE_SIZE
 * members each (one empty page for an empty list), so each fits a 1,500-byte MTU.
 */
export function peerListReplies(members: readonly MemberInfo[]): PeerListReply[] {
  if (members.length > 0xffff) {
    throw encodeError('members', `${members.length} members: a peer list carries at most 65,535`);
  }
  const pages: PeerListReply[] = [];
  for (let offset = 0; offset === 0 || offset < members.length; offset += PEER_LIST_PAGE_SIZE) {
    pages.push({
      type: 'peer-list-reply',
      offset,
      total: members.length,
      members: members.slice(offset, offset + PEER_LIST_PAGE_SIZE),
    });
  }
  return pages;
}
