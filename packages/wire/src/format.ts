import type { GoodbyeReason, MessageType, RefusedReason, RequestedRole } from './messages.js';

/**
 * The numbers of the format, in one place. The byte tables in README.md are written from
 * this file; change both together, and bump PROTOCOL_VERSION for any layout change.
 */

/** Type byte (offset 1) of each message. Frames 0x01-0x0f, datagrams 0x10-0x7f. */
export const TYPE_CODES = {
  'join-request': 0x01,
  'join-accept': 0x02,
  'join-refused': 0x03,
  chunk: 0x10,
  hello: 0x11,
  'hello-ack': 0x12,
  goodbye: 0x13,
  'lost-chunk': 0x14,
  'peer-list-request': 0x15,
  'peer-list-reply': 0x16,
  'external-peer': 0x17,
  'stats-report': 0x18,
  'chunk-request': 0x19,
  'stream-metadata': 0x1a,
  'member-silent': 0x1b,
  'child-report': 0x1c,
} as const satisfies Record<MessageType, number>;

export const TYPE_NAMES: ReadonlyMap<number, MessageType> = new Map(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as MessageType]),
);

export const FRAME_TYPE_CODES: ReadonlySet<number> = new Set([0x01, 0x02, 0x03]);

/** Enumerations on the wire: the index in each list is the byte. Append only. */
export const ROLES: readonly RequestedRole[] = ['peer', 'monitor', 'liberated'];
/**
 * Every NAT classification (the classic names; RFC 5780 behaviours folded in), in wire
 * order. The one list: `NatType` is derived from it, and the NAT package, the tests and
 * the codecs read it.
 */
export const NAT_TYPES = [
  'unknown',
  'open',
  'full-cone',
  'restricted-cone',
  'port-restricted-cone',
  'symmetric-preserving',
  'symmetric-sequential',
  'symmetric-random',
  'udp-blocked',
] as const;
export const REFUSED_REASONS: readonly RefusedReason[] = [
  'cluster-full',
  'bad-version',
  'bad-credential',
  'not-accepting',
  'redirect',
  'banned',
];
export const GOODBYE_REASONS: readonly GoodbyeReason[] = [
  'leaving',
  'expelled',
  'stream-end',
  'timeout',
];

/** Endpoint family byte. 0 is only valid where the endpoint is optional (null). */
export const FAMILY_NONE = 0;
export const FAMILY_IPV4 = 4;
export const FAMILY_IPV6 = 6;

/** Bytes of the fixed chunk datagram header (see README "chunk"). */
export const CHUNK_HEADER_BYTES = 14;

/** Ethernet MTU, RFC 894; IPv4 header without options 20 (RFC 791), IPv6 40 (RFC 8200), UDP 8 (RFC 768). */
const MTU_BYTES = 1500;
const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
const UDP_HEADER_BYTES = 8;

/**
 * The largest unsigned chunk payload whose datagram fits a 1,500-byte MTU over IPv4
 * without IP fragmentation: 1500 - 20 - 8 - 14 = 1,458. A source refuses chunk sizes
 * above it. A signature takes its length out of this budget.
 */
export const MAX_CHUNK_PAYLOAD_FOR_MTU =
  MTU_BYTES - IPV4_HEADER_BYTES - UDP_HEADER_BYTES - CHUNK_HEADER_BYTES;
/** The same over IPv6 (40-byte header): 1,438. */
export const MAX_CHUNK_PAYLOAD_FOR_MTU_IPV6 =
  MTU_BYTES - IPV6_HEADER_BYTES - UDP_HEADER_BYTES - CHUNK_HEADER_BYTES;

/** Signature length is one byte (Ed25519 signatures are 64, RFC 8032). */
export const MAX_SIGNATURE_BYTES = 255;
/** RFC 6838 section 4.2: type and subtype names are at most 127 characters each. */
export const MAX_MEDIA_TYPE_BYTES = 255;
export const MAX_REFUSED_MESSAGE_BYTES = 1024;
export const MAX_CREDENTIAL_BYTES = 1024;

/**
 * Member entry sizes: id 4 + flags 1 + endpoint (1+4+2 or 1+16+2) + optional endpoint +
 * optional NAT type 1 and port step 2.
 */
const MAX_MEMBER_ENTRY_BYTES = 4 + 1 + 19 + 19 + 3;
const PEER_LIST_REPLY_HEADER_BYTES = 7;

/**
 * Members in one peer-list-reply datagram, so the worst case (IPv6 datagram, every member
 * with IPv6 public and private endpoints and a NAT report, 46 bytes each) fits a 1,500-byte
 * MTU: floor((1500 - 40 - 8 - 7) / 46) = 31, i.e. 7 + 31 * 46 = 1,433 bytes.
 */
export const PEER_LIST_PAGE_SIZE = Math.floor(
  (MTU_BYTES - IPV6_HEADER_BYTES - UDP_HEADER_BYTES - PEER_LIST_REPLY_HEADER_BYTES) /
    MAX_MEMBER_ENTRY_BYTES,
);

/**
 * The stream-metadata datagram fits a 1,500-byte MTU over IPv6 (1,452 bytes of UDP
 * payload, RFC 8200): 2 + 12 fixed + (2 + 400) title + 4 x (1 + 255) texts = 1,440. An
 * ICY metadata block holds up to 255 x 16 = 4,080 bytes, so any title that fits here fits
 * there.
 */
export const MAX_STREAM_TITLE_BYTES = 400;
export const MAX_STREAM_INFO_TEXT_BYTES = 255;

/** Largest TCP frame body FrameDecoder accepts by default: 1 MiB (stream headers can be tens of KB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** The u32 length prefix before each frame body. */
export const FRAME_PREFIX_BYTES = 4;
