import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { GOODBYE_REASONS, NAT_TYPES, REFUSED_REASONS } from '../src/format.js';
import type {
  ChildReport,
  Chunk,
  ChunkRequest,
  DatagramMessage,
  Endpoint,
  ExternalPeerNotice,
  FrameMessage,
  Goodbye,
  Hello,
  HelloAck,
  JoinAccept,
  JoinRefused,
  JoinRequest,
  LostChunk,
  MemberInfo,
  MemberSilent,
  NatReport,
  PeerListReply,
  PeerListRequest,
  StatsReport,
  StreamMetadata,
} from '../src/index.js';
import {
  MAX_MEMBERSHIP_CREDENTIAL_BYTES,
  MAX_STREAM_INFO_TEXT_BYTES,
  MAX_STREAM_TITLE_BYTES,
  PEER_LIST_PAGE_SIZE,
} from '../src/index.js';

/** fast-check arbitraries for every message, in the canonical form a decoder returns. */

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const memberId = u32;

/** IPv6 text as Node's sockets print it (libuv), from 8 words biased towards zero runs. */
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), u16), { minLength: 8, maxLength: 8 })
  .map((words) => {
    const full = words.map((word) => word.toString(16)).join(':');
    return new SocketAddress({ address: full, family: 'ipv6' }).address;
  });

export const endpoint: fc.Arbitrary<Endpoint> = fc.record({
  address: fc.oneof(fc.ipV4(), ipv6),
  port: u16,
});

const optionalEndpoint = fc.option(endpoint, { nil: null });

const memberFlags = fc.record({
  monitor: fc.boolean(),
  external: fc.boolean(),
  liberated: fc.boolean(),
});

export const memberInfo: fc.Arbitrary<MemberInfo> = fc.record(
  {
    memberId,
    endpoint,
    privateEndpoint: optionalEndpoint,
    flags: memberFlags,
    // Issue 6: a known NAT travels (type and step; the mapped endpoint is `endpoint`).
    nat: fc.record({
      type: fc.constantFrom(...NAT_TYPES.filter((type) => type !== 'unknown')),
      portStep: u16,
      mappedEndpoint: fc.constant(null),
    }),
  },
  { requiredKeys: ['memberId', 'endpoint', 'privateEndpoint', 'flags'] },
);

/** A string whose UTF-8 form is at most `maxBytes` bytes. */
function utf8String(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: 'binary', maxLength: Math.floor(maxBytes / 4) })
    .filter((text) => Buffer.byteLength(text, 'utf8') <= maxBytes);
}

const natReport: fc.Arbitrary<NatReport> = fc.record({
  type: fc.constantFrom(...NAT_TYPES),
  portStep: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  mappedEndpoint: optionalEndpoint,
});

export const joinRequest: fc.Arbitrary<JoinRequest> = fc.record({
  type: fc.constant('join-request'),
  role: fc.constantFrom('peer', 'monitor', 'liberated'),
  privateEndpoint: optionalEndpoint,
  nat: natReport,
  credential: fc.uint8Array({ maxLength: 64 }),
});

export const joinAccept: fc.Arbitrary<JoinAccept> = fc.record({
  type: fc.constant('join-accept'),
  memberId,
  observedEndpoint: endpoint,
  chunkSize: u16,
  bufferSize: u32,
  monitorCount: u16,
  chunkIntervalMicros: u32,
  nextChunkNumber: u32,
  mediaType: utf8String(255),
  header: fc.uint8Array({ maxLength: 300 }),
  members: fc.array(memberInfo, { maxLength: 12 }),
  sourceKey: fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
  ),
});

export const joinRefused: fc.Arbitrary<JoinRefused> = fc.record({
  type: fc.constant('join-refused'),
  reason: fc.constantFrom(...REFUSED_REASONS),
  redirect: optionalEndpoint,
  message: utf8String(1024),
});

export const chunk: fc.Arbitrary<Chunk> = fc.record({
  type: fc.constant('chunk'),
  chunkNumber: u32,
  origin: memberId,
  flags: fc.record({ nonExclusive: fc.boolean(), recovered: fc.boolean() }),
  payload: fc.uint8Array({ maxLength: 1500 }),
  signature: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 255 })),
});

/** Hello and its ack share one layout: a member and the nonce the ack echoes. */
const greeting = <Type extends 'hello' | 'hello-ack'>(type: Type) =>
  fc.record(
    {
      type: fc.constant(type),
      memberId,
      nonce: u32,
      credential: fc.uint8Array({ minLength: 1, maxLength: MAX_MEMBERSHIP_CREDENTIAL_BYTES }),
    },
    { requiredKeys: ['type', 'memberId', 'nonce'] },
  );

export const hello: fc.Arbitrary<Hello> = greeting('hello');

export const helloAck: fc.Arbitrary<HelloAck> = greeting('hello-ack');

export const goodbye: fc.Arbitrary<Goodbye> = fc.record({
  type: fc.constant('goodbye'),
  memberId,
  reason: fc.constantFrom(...GOODBYE_REASONS),
});

/** A lost-chunk complaint and a chunk-request share one layout: a member and a chunk. */
const aboutChunk = <Type extends 'lost-chunk' | 'chunk-request'>(type: Type) =>
  fc.record({ type: fc.constant(type), memberId, chunkNumber: u32 });

export const lostChunk: fc.Arbitrary<LostChunk> = aboutChunk('lost-chunk');

export const chunkRequest: fc.Arbitrary<ChunkRequest> = aboutChunk('chunk-request');

export const memberSilent: fc.Arbitrary<MemberSilent> = fc.record({
  type: fc.constant('member-silent'),
  memberId,
  silentMemberId: memberId,
});

export const childReport: fc.Arbitrary<ChildReport> = fc.record({
  type: fc.constant('child-report'),
  joinPort: fc.integer({ min: 0, max: 0xffff }),
  members: u32,
  capacity: u32,
});

export const peerListRequest: fc.Arbitrary<PeerListRequest> = fc.record({
  type: fc.constant('peer-list-request'),
  memberId,
});

export const peerListReply: fc.Arbitrary<PeerListReply> = fc
  .tuple(
    fc.array(memberInfo, { maxLength: PEER_LIST_PAGE_SIZE }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map(([members, offsetSeed, extraSeed]) => {
    const offset = offsetSeed % (0x1_0000 - members.length);
    const total = offset + members.length + (extraSeed % (0x1_0000 - offset - members.length));
    return { type: 'peer-list-reply' as const, offset, total, members };
  });

export const externalPeer: fc.Arbitrary<ExternalPeerNotice> = fc.record({
  type: fc.constant('external-peer'),
  memberId,
  endpoint,
});

export const statsReport: fc.Arbitrary<StatsReport> = fc.record({
  type: fc.constant('stats-report'),
  memberId,
  chunksReceived: fc.maxSafeNat(),
  chunksLost: fc.maxSafeNat(),
  chunksPlayed: fc.maxSafeNat(),
  chunksSent: fc.maxSafeNat(),
  bufferFill: u32,
  players: u32,
  neighbours: u32,
});

export const streamMetadata: fc.Arbitrary<StreamMetadata> = fc.record({
  type: fc.constant('stream-metadata'),
  sequence: u32,
  chunkNumber: u32,
  title: utf8String(MAX_STREAM_TITLE_BYTES),
  info: fc.record({
    name: utf8String(MAX_STREAM_INFO_TEXT_BYTES),
    description: utf8String(MAX_STREAM_INFO_TEXT_BYTES),
    genre: utf8String(MAX_STREAM_INFO_TEXT_BYTES),
    url: utf8String(MAX_STREAM_INFO_TEXT_BYTES),
    bitrate: u32,
  }),
});

export const datagramArbitraries: Record<DatagramMessage['type'], fc.Arbitrary<DatagramMessage>> = {
  chunk,
  hello,
  'hello-ack': helloAck,
  goodbye,
  'lost-chunk': lostChunk,
  'peer-list-request': peerListRequest,
  'peer-list-reply': peerListReply,
  'external-peer': externalPeer,
  'stats-report': statsReport,
  'chunk-request': chunkRequest,
  'stream-metadata': streamMetadata,
  'member-silent': memberSilent,
  'child-report': childReport,
};

export const frameArbitraries: Record<FrameMessage['type'], fc.Arbitrary<FrameMessage>> = {
  'join-request': joinRequest,
  'join-accept': joinAccept,
  'join-refused': joinRefused,
};

export const datagramMessage: fc.Arbitrary<DatagramMessage> = fc.oneof(
  ...Object.values(datagramArbitraries),
);
export const frameMessage: fc.Arbitrary<FrameMessage> = fc.oneof(
  ...Object.values(frameArbitraries),
);
