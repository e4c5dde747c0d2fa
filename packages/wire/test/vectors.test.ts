import { describe, expect, it } from 'vitest';
import {
  type DatagramMessage,
  decodeDatagram,
  decodeFrame,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
} from '../src/index.js';

/**
 * Byte vectors written by hand from the tables in README.md (one group per table row),
 * not from the encoder: they pin the format itself.
 */

const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s|\|/g, ''), 'hex'));
const bytes = (...values: number[]) => new Uint8Array(values);
const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'ascii'));

const datagrams: [string, string, DatagramMessage][] = [
  [
    'chunk',
    // ver | type | flags: non-exclusive | sig len 2 | chunk 0x00010203 | origin 42 | len 3 | payload | signature
    '01 | 10 | 01 | 02 | 00010203 | 0000002a | 0003 | aabbcc | 5152',
    {
      type: 'chunk',
      chunkNumber: 0x0001_0203,
      origin: 42,
      flags: { nonExclusive: true, recovered: false },
      payload: bytes(0xaa, 0xbb, 0xcc),
      signature: bytes(0x51, 0x52),
    },
  ],
  [
    'chunk, recovered, unsigned, across the wrap',
    '01 | 10 | 02 | 00 | ffffffff | 00000001 | 0001 | 00',
    {
      type: 'chunk',
      chunkNumber: 0xffff_ffff,
      origin: 1,
      flags: { nonExclusive: false, recovered: true },
      payload: bytes(0),
      signature: bytes(),
    },
  ],
  ['hello', '01 | 11 | 00000007 | deadbeef', { type: 'hello', memberId: 7, nonce: 0xdead_beef }],
  [
    'hello with a credential',
    // ... | credential length 3 | credential (opaque to the codec)
    '01 | 11 | 00000007 | deadbeef | 03 | aabbcc',
    { type: 'hello', memberId: 7, nonce: 0xdead_beef, credential: bytes(0xaa, 0xbb, 0xcc) },
  ],
  ['hello-ack', '01 | 12 | 00000000 | 00000001', { type: 'hello-ack', memberId: 0, nonce: 1 }],
  [
    'goodbye',
    // reason 2 = stream-end
    '01 | 13 | 00000007 | 02',
    { type: 'goodbye', memberId: 7, reason: 'stream-end' },
  ],
  [
    'lost-chunk',
    '01 | 14 | 00000003 | fffffffe',
    { type: 'lost-chunk', memberId: 3, chunkNumber: 0xffff_fffe },
  ],
  ['peer-list-request', '01 | 15 | 00000003', { type: 'peer-list-request', memberId: 3 }],
  [
    'member-silent',
    // member 3 stopped hearing member 8
    '01 | 1b | 00000003 | 00000008',
    { type: 'member-silent', memberId: 3, silentMemberId: 8 },
  ],
  [
    'child-report',
    // joins on port 4552, 250 members in its subtree, room for 300
    '01 | 1c | 11c8 | 000000fa | 0000012c',
    { type: 'child-report', joinPort: 4552, members: 250, capacity: 300 },
  ],
  [
    'chunk-request',
    // member 9 asks for chunk 0x80000001 (RMS-lite repair)
    '01 | 19 | 00000009 | 80000001',
    { type: 'chunk-request', memberId: 9, chunkNumber: 0x8000_0001 },
  ],
  [
    'peer-list-reply',
    // offset 2 | total 3 | count 1 | member 9, flags external, 10.0.0.9:4000, private none
    '01 | 16 | 0002 | 0003 | 01 | 00000009 02 04 0a000009 0fa0 00',
    {
      type: 'peer-list-reply',
      offset: 2,
      total: 3,
      members: [
        {
          memberId: 9,
          flags: { monitor: false, external: true, liberated: false },
          endpoint: { address: '10.0.0.9', port: 4000 },
          privateEndpoint: null,
        },
      ],
    },
  ],
  [
    'external-peer',
    // endpoint: IPv6 fe80::1 port 443
    '01 | 17 | 00000005 | 06 fe800000000000000000000000000001 01bb',
    { type: 'external-peer', memberId: 5, endpoint: { address: 'fe80::1', port: 443 } },
  ],
  [
    'stats-report',
    `01 | 18 | 00000004 | 0000000100000000 | 0000000000000002 | 0000000000000003 | 0000000000000004 |
     00000020 | 00000001 | 00000005`,
    {
      type: 'stats-report',
      memberId: 4,
      chunksReceived: 2 ** 32,
      chunksLost: 2,
      chunksPlayed: 3,
      chunksSent: 4,
      bufferFill: 32,
      players: 1,
      neighbours: 5,
    },
  ],
  [
    'stream-metadata',
    // sequence 7 | chunk 9 | 128 kbit/s | title "Hi" | name "R" | no description, genre | url "u"
    `01 | 1a | 00000007 | 00000009 | 00000080 | 0002 4869 | 01 52 | 00 | 00 | 01 75`,
    {
      type: 'stream-metadata',
      sequence: 7,
      chunkNumber: 9,
      title: 'Hi',
      info: { name: 'R', description: '', genre: '', url: 'u', bitrate: 128 },
    },
  ],
];

const frames: [string, string, FrameMessage][] = [
  [
    'join-request',
    // length 27 = 2 + 1 + 1 + 4 + 7 + 7 + 2 + 3 | ver | type | role monitor | nat symmetric-sequential | port step 2 |
    // private 192.168.1.2:8080 | mapped 203.0.113.7:54321 | credential "sec"
    `0000001b | 01 | 01 | 01 | 06 | 00000002 | 04 c0a80102 1f90 | 04 cb007107 d431 |
     0003 | 736563`,
    {
      type: 'join-request',
      role: 'monitor',
      privateEndpoint: { address: '192.168.1.2', port: 8080 },
      nat: {
        type: 'symmetric-sequential',
        portStep: 2,
        mappedEndpoint: { address: '203.0.113.7', port: 54_321 },
      },
      credential: ascii('sec'),
    },
  ],
  [
    'join-request, no endpoints, negative port step',
    '0000000c | 01 | 01 | 00 | 00 | ffffffff | 00 | 00 | 0000',
    {
      type: 'join-request',
      role: 'peer',
      privateEndpoint: null,
      nat: { type: 'unknown', portStep: -1, mappedEndpoint: null },
      credential: bytes(),
    },
  ],
  [
    'join-accept',
    // length 72 | ver | type | member 5 | chunk 1024 | buffer 64 | 1 monitor | 8000 us |
    // next chunk 100 | observed [2001:db8::1]:5000 | "audio/ogg" | header "Og" |
    // 1 member: 1, monitor, 127.0.0.1:10000, no private endpoint | source key 32 x ab
    `00000069 | 01 | 02 | 00000005 | 0400 | 00000040 | 0001 | 00001f40 | 00000064 |
     06 20010db8000000000000000000000001 1388 | 09 617564696f2f6f6767 | 00000002 4f67 |
     0001 | 00000001 01 04 7f000001 2710 00 | 20 ${'ab'.repeat(32)}`,
    {
      type: 'join-accept',
      memberId: 5,
      observedEndpoint: { address: '2001:db8::1', port: 5000 },
      chunkSize: 1024,
      bufferSize: 64,
      monitorCount: 1,
      chunkIntervalMicros: 8000,
      nextChunkNumber: 100,
      mediaType: 'audio/ogg',
      header: ascii('Og'),
      members: [
        {
          memberId: 1,
          endpoint: { address: '127.0.0.1', port: 10_000 },
          privateEndpoint: null,
          flags: { monitor: true, external: false, liberated: false },
        },
      ],
      sourceKey: new Uint8Array(32).fill(0xab),
    },
  ],
  [
    'join-refused',
    // length 16 | ver | type | reason redirect | 10.0.0.1:8080 | "full"
    '00000010 | 01 | 03 | 04 | 04 0a000001 1f90 | 0004 66756c6c',
    {
      type: 'join-refused',
      reason: 'redirect',
      redirect: { address: '10.0.0.1', port: 8080 },
      message: 'full',
    },
  ],
];

describe('datagram byte vectors from the README tables', () => {
  it.each(datagrams)('%s', (_, hex, message) => {
    const vector = fromHex(hex);
    expect(Buffer.from(encodeDatagram(message)).toString('hex')).toBe(
      Buffer.from(vector).toString('hex'),
    );
    expect(decodeDatagram(vector)).toEqual({ ok: true, message });
  });
});

describe('frame byte vectors from the README tables', () => {
  it.each(frames)('%s', (_, hex, message) => {
    const vector = fromHex(hex);
    expect(Buffer.from(encodeFrame(message)).toString('hex')).toBe(
      Buffer.from(vector).toString('hex'),
    );
    expect(decodeFrame(vector.subarray(4))).toEqual({ ok: true, message });
    const decoder = new FrameDecoder();
    decoder.push(vector);
    expect([...decoder]).toEqual([{ ok: true, message }]);
  });
});
