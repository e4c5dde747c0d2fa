import { describe, expect, it } from 'vitest';
import {
  decodeDatagram,
  encodeDatagram,
  isControlDatagram,
  peerListReplies,
} from './datagram-codec.js';
import type { DecodeErrorCode } from './decode-result.js';
import {
  CHUNK_HEADER_BYTES,
  MAX_CHUNK_PAYLOAD_FOR_MTU,
  MAX_CHUNK_PAYLOAD_FOR_MTU_IPV6,
  MAX_STREAM_INFO_TEXT_BYTES,
  MAX_STREAM_TITLE_BYTES,
  PEER_LIST_PAGE_SIZE,
} from './format.js';
import {
  type Chunk,
  type DatagramMessage,
  type MemberInfo,
  type StreamMetadata,
  UNKNOWN_STREAM_INFO,
} from './messages.js';

const chunk = (overrides: Partial<Chunk> = {}): Chunk => ({
  type: 'chunk',
  chunkNumber: 1,
  origin: 2,
  flags: { nonExclusive: false, recovered: false },
  payload: new Uint8Array([1, 2, 3]),
  signature: new Uint8Array(0),
  ...overrides,
});

const streamMetadata = (overrides: Partial<StreamMetadata> = {}): StreamMetadata => ({
  type: 'stream-metadata',
  sequence: 1,
  chunkNumber: 2,
  title: '',
  info: UNKNOWN_STREAM_INFO,
  ...overrides,
});

const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));

describe('decodeDatagram', () => {
  it('decodes a chunk payload as a view of the datagram (zero-copy)', () => {
    const bytes = encodeDatagram(chunk({ payload: new Uint8Array(1024).fill(7) }));
    const result = decodeDatagram(bytes);
    if (!result.ok || result.message.type !== 'chunk') throw new Error('not a chunk');
    expect(result.message.payload.buffer).toBe(bytes.buffer);
    expect(result.message.payload.byteOffset).toBe(bytes.byteOffset + CHUNK_HEADER_BYTES);
    expect(result.message.payload.length).toBe(1024);
  });

  it.each<[string, string, DecodeErrorCode]>([
    ['empty', '', 'truncated'],
    ['version only', '01', 'truncated'],
    ['another version', '02 11 00000001 00000002', 'bad-version'],
    ['version 0', '00', 'bad-version'],
    ['unknown type', '01 7f', 'unknown-type'],
    ['a frame type', '01 01 00', 'unknown-type'],
    ['chunk shorter than its header', '01 10 00 00 00000001', 'truncated'],
    ['chunk reserved flag bit', '01 10 04 00 00000001 00000002 0000', 'bad-value'],
    ['chunk payload shorter than declared', '01 10 00 00 00000001 00000002 0003 aabb', 'truncated'],
    ['chunk with trailing bytes', '01 10 00 00 00000001 00000002 0001 aa bb', 'bad-length'],
    ['hello with trailing bytes', '01 11 00000001 00000002 00', 'bad-length'],
    [
      'hello credential over 114 bytes',
      `01 11 00000001 00000002 73 ${'00'.repeat(115)}`,
      'bad-length',
    ],
    ['hello credential shorter than declared', '01 11 00000001 00000002 03 aabb', 'truncated'],
    ['hello-ack credential with trailing bytes', '01 12 00000001 00000002 01 aa bb', 'bad-length'],
    ['goodbye with unknown reason', '01 13 00000001 09', 'bad-value'],
    ['peer-list-reply over a page', '01 16 0000 0064 22', 'bad-length'],
    ['peer-list-reply past its total', '01 16 0005 0005 01', 'bad-value'],
    ['external-peer family 5', '01 17 00000001 05 01020304 0050', 'bad-value'],
    ['external-peer without endpoint', '01 17 00000001 00', 'bad-value'],
    ['stream-metadata title over 400 bytes', '01 1a 00000001 00000002 00000000 0191', 'bad-length'],
    ['stream-metadata title not UTF-8', '01 1a 00000001 00000002 00000000 0001 ff', 'bad-value'],
    ['stream-metadata without its texts', '01 1a 00000001 00000002 00000000 0000 00', 'truncated'],
    ['stats counter over 2^53', `01 18 00000001 00200000 00000000 ${'00'.repeat(36)}`, 'bad-value'],
  ])('%s: %s -> %s', (_, hex, code) => {
    expect(decodeDatagram(fromHex(hex))).toMatchObject({ ok: false, error: { code } });
  });
});

describe('encodeDatagram', () => {
  it.each<[string, DatagramMessage, string]>([
    ['negative chunk number', chunk({ chunkNumber: -1 }), 'chunk.chunkNumber'],
    ['chunk number 2^32', chunk({ chunkNumber: 2 ** 32 }), 'chunk.chunkNumber'],
    ['fractional origin', chunk({ origin: 1.5 }), 'chunk.origin'],
    ['payload over u16', chunk({ payload: new Uint8Array(65_536) }), 'chunk.payload'],
    ['signature over 255', chunk({ signature: new Uint8Array(256) }), 'chunk.signature'],
    [
      'credential over 114 bytes',
      { type: 'hello', memberId: 1, nonce: 2, credential: new Uint8Array(115) },
      'hello.credential',
    ],
    [
      'host name',
      { type: 'external-peer', memberId: 1, endpoint: { address: 'localhost', port: 1 } },
      'external-peer.endpoint.address',
    ],
    [
      'port over u16',
      { type: 'external-peer', memberId: 1, endpoint: { address: '::1', port: 65_536 } },
      'external-peer.endpoint.port',
    ],
    [
      'counter over 2^53',
      {
        type: 'stats-report',
        memberId: 1,
        chunksReceived: 2 ** 53,
        chunksLost: 0,
        chunksPlayed: 0,
        chunksSent: 0,
        bufferFill: 0,
        players: 0,
        neighbours: 0,
      },
      'stats-report.chunksReceived',
    ],
    ['title over 400 bytes', streamMetadata({ title: 'é'.repeat(201) }), 'stream-metadata.title'],
    [
      'station name over 255 bytes',
      streamMetadata({ info: { ...UNKNOWN_STREAM_INFO, name: 'x'.repeat(256) } }),
      'stream-metadata.info.name',
    ],
  ])('%s throws a WireError naming %s', (_, message, field) => {
    expect(() => encodeDatagram(message)).toThrow(
      expect.objectContaining({ name: 'WireError', code: 'P2PSP_ERR_WIRE_ENCODE', field }),
    );
  });

  it('gives each encoded chunk its own bytes, though slabs are shared', () => {
    const encoded = Array.from({ length: 100 }, (_, index) =>
      encodeDatagram(chunk({ chunkNumber: index, payload: new Uint8Array(1000).fill(index) })),
    );
    encoded.forEach((bytes, index) => {
      expect(bytes.length).toBe(CHUNK_HEADER_BYTES + 1000);
      const result = decodeDatagram(bytes);
      if (!result.ok || result.message.type !== 'chunk') throw new Error('not a chunk');
      expect(result.message.chunkNumber).toBe(index);
      expect(result.message.payload.every((value) => value === index)).toBe(true);
    });
  });

  it('refuses frame messages', () => {
    const frame = { type: 'join-refused' } as unknown as DatagramMessage;
    expect(() => encodeDatagram(frame)).toThrow(/not a datagram message/);
    const inherited = { type: 'toString' } as unknown as DatagramMessage;
    expect(() => encodeDatagram(inherited)).toThrow(/not a datagram message/);
  });

  it('fits the largest stream-metadata in 1,500 bytes with the IPv6 and UDP headers', () => {
    const text = 'x'.repeat(MAX_STREAM_INFO_TEXT_BYTES);
    const bytes = encodeDatagram(
      streamMetadata({
        title: 'y'.repeat(MAX_STREAM_TITLE_BYTES),
        info: { name: text, description: text, genre: text, url: text, bitrate: 0xffff_ffff },
      }),
    );
    expect(bytes.length).toBe(1440);
    expect(bytes.length + 40 + 8).toBeLessThanOrEqual(1500);
  });

  it('fits the largest MTU-sized chunk in 1,500 bytes with the IP and UDP headers', () => {
    const ipv4 = encodeDatagram(chunk({ payload: new Uint8Array(MAX_CHUNK_PAYLOAD_FOR_MTU) }));
    expect(ipv4.length + 20 + 8).toBe(1500);
    const ipv6 = encodeDatagram(chunk({ payload: new Uint8Array(MAX_CHUNK_PAYLOAD_FOR_MTU_IPV6) }));
    expect(ipv6.length + 40 + 8).toBe(1500);
  });
});

describe('isControlDatagram', () => {
  it('tells control from chunks by the header bytes; bytes of another version are neither', () => {
    expect(isControlDatagram(encodeDatagram(chunk()))).toBe(false);
    expect(isControlDatagram(encodeDatagram(streamMetadata()))).toBe(true);
    const lostChunk = encodeDatagram({ type: 'lost-chunk', memberId: 3, chunkNumber: 7 });
    expect(isControlDatagram(lostChunk)).toBe(true);
    lostChunk[0] = (lostChunk[0] ?? 0) + 1;
    expect(isControlDatagram(lostChunk)).toBe(false);
    expect(isControlDatagram(new Uint8Array(1))).toBe(false);
  });
});

describe('peerListReplies', () => {
  const member = (index: number): MemberInfo => ({
    memberId: index + 1,
    endpoint: {
      address: `2001:db8:ffff:ffff:ffff:ffff:ffff:${(index + 1).toString(16)}`,
      port: 65_535,
    },
    privateEndpoint: { address: 'fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65_535 },
    flags: { monitor: true, external: true, liberated: true },
    nat: { type: 'symmetric-sequential', portStep: 65_535, mappedEndpoint: null },
  });

  it('pages 100 worst-case (IPv6) members into datagrams that fit a 1,500-byte MTU', () => {
    const members = Array.from({ length: 100 }, (_, index) => member(index));
    const pages = peerListReplies(members);
    expect(pages.map((page) => page.members.length)).toEqual([31, 31, 31, 7]);
    expect(PEER_LIST_PAGE_SIZE).toBe(31);
    const back: MemberInfo[] = [];
    for (const page of pages) {
      const bytes = encodeDatagram(page);
      expect(bytes.length + 40 + 8).toBeLessThanOrEqual(1500);
      const result = decodeDatagram(bytes);
      if (!result.ok || result.message.type !== 'peer-list-reply') throw new Error('no reply');
      expect(result.message.total).toBe(100);
      back.push(...result.message.members);
    }
    expect(back).toEqual(members);
  });

  it('sends one empty page for an empty list, and refuses an over-full page', () => {
    expect(peerListReplies([])).toEqual([
      { type: 'peer-list-reply', offset: 0, total: 0, members: [] },
    ]);
    const members = Array.from({ length: 34 }, (_, index) => member(index));
    expect(() =>
      encodeDatagram({ type: 'peer-list-reply', offset: 0, total: 34, members }),
    ).toThrow(/PEER_LIST_PAGE_SIZE/);
  });
});
