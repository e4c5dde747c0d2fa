import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_PREFIX_BYTES } from './format.js';
import { decodeFrame, encodeFrame, FrameDecoder } from './frame-codec.js';
import type { JoinAccept, JoinRefused } from './messages.js';
import { WireError } from './wire-error.js';

const refused: JoinRefused = {
  type: 'join-refused',
  reason: 'cluster-full',
  redirect: null,
  message: 'the cluster is full',
};

const accept = (header: Uint8Array): JoinAccept => ({
  type: 'join-accept',
  memberId: 9,
  observedEndpoint: { address: '198.51.100.4', port: 4000 },
  chunkSize: 1024,
  bufferSize: 64,
  monitorCount: 1,
  chunkIntervalMicros: 8000,
  nextChunkNumber: 0xffff_fff0,
  mediaType: 'audio/ogg',
  header,
  members: [],
  sourceKey: new Uint8Array(0),
});

function prefix(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

describe('FrameDecoder', () => {
  it('reports frame-too-large as soon as the length prefix is in, then stays failed', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1000 });
    decoder.push(prefix(1001).subarray(0, 3));
    expect([...decoder]).toEqual([]);
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(prefix(1001).subarray(3));
    const results = [...decoder];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'frame-too-large' } });
    expect(decoder.failed).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
    // Anything after is discarded: the stream cannot be resynchronised.
    decoder.push(encodeFrame(refused));
    expect([...decoder]).toEqual([]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('defaults to 1 MiB and accepts a frame of exactly maxFrameBytes', () => {
    expect(new FrameDecoder().maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    const frame = encodeFrame(accept(new Uint8Array(60_000)));
    const decoder = new FrameDecoder({ maxFrameBytes: frame.length - FRAME_PREFIX_BYTES });
    decoder.push(frame);
    expect(decoder.poll()).toMatchObject({ ok: true, message: { type: 'join-accept' } });
    expect(decoder.poll()).toBeUndefined();
  });

  it('shows a stalled partial frame in bufferedBytes', () => {
    const frame = encodeFrame(refused);
    const decoder = new FrameDecoder();
    decoder.push(frame.subarray(0, 10));
    expect(decoder.poll()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(10);
    decoder.push(frame.subarray(10));
    expect(decoder.poll()).toEqual({ ok: true, message: refused });
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reports a bad body and goes on with the next frame', () => {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array([...prefix(2), 1, 0x7f, ...prefix(0), ...prefix(2), 1, 0x11]));
    decoder.push(encodeFrame(refused));
    const results = [...decoder];
    expect(results.map((result) => (result.ok ? result.message.type : result.error.code))).toEqual([
      'unknown-type',
      'truncated',
      'unknown-type', // a datagram type (hello) inside a frame
      'join-refused',
    ]);
  });

  it('decodes byte fields as views of the pushed bytes when a frame arrives whole', () => {
    const frame = encodeFrame(accept(new Uint8Array([1, 2, 3])));
    const decoder = new FrameDecoder();
    decoder.push(frame);
    const result = decoder.poll();
    if (!result?.ok || result.message.type !== 'join-accept') throw new Error('no accept');
    expect(result.message.header.buffer).toBe(frame.buffer);
    expect(result.message.header).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses a bad maxFrameBytes option with a WireError naming it', () => {
    for (const maxFrameBytes of [0, 1, 1.5, -1, 2 ** 32, Number.NaN]) {
      expect(() => new FrameDecoder({ maxFrameBytes })).toThrow(
        expect.objectContaining({ code: 'P2PSP_ERR_WIRE_OPTION', field: 'maxFrameBytes' }),
      );
    }
  });
});

describe('encodeFrame', () => {
  it('refuses a body over maxFrameBytes, naming the fix', () => {
    expect(() => encodeFrame(accept(new Uint8Array(2000)), { maxFrameBytes: 1000 })).toThrow(
      /raise maxFrameBytes on both ends/,
    );
  });

  it('refuses datagram messages and out-of-range fields with WireError', () => {
    const hello = { type: 'hello', memberId: 1, nonce: 2 } as unknown as JoinRefused;
    expect(() => encodeFrame(hello)).toThrow(WireError);
    expect(() => encodeFrame({ ...accept(new Uint8Array()), chunkSize: 70_000 })).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_WIRE_ENCODE', field: 'join-accept.chunkSize' }),
    );
    expect(() => encodeFrame({ ...accept(new Uint8Array()), mediaType: 'x'.repeat(256) })).toThrow(
      /join-accept.mediaType/,
    );
    expect(() =>
      encodeFrame({ ...accept(new Uint8Array()), sourceKey: new Uint8Array(31) }),
    ).toThrow(expect.objectContaining({ field: 'join-accept.sourceKey' }));
    expect(() => encodeFrame({ ...refused, message: '\ud800' })).toThrow(/lone UTF-16 surrogate/);
    expect(() =>
      encodeFrame({ ...refused, redirect: { address: 'example.org', port: 1 } }),
    ).toThrow(/not an IPv4 or IPv6 literal/);
  });
});

describe('decodeFrame', () => {
  it('carries the source key (none or 32 bytes) and refuses any other length', () => {
    const key = new Uint8Array(32).fill(7);
    const body = encodeFrame({ ...accept(new Uint8Array()), sourceKey: key }).subarray(
      FRAME_PREFIX_BYTES,
    );
    expect(decodeFrame(body)).toMatchObject({ ok: true, message: { sourceKey: key } });
    const unsigned = encodeFrame(accept(new Uint8Array())).subarray(FRAME_PREFIX_BYTES);
    expect(decodeFrame(unsigned)).toMatchObject({
      ok: true,
      message: { sourceKey: new Uint8Array(0) },
    });
    // A 31-byte key (length byte 31, one key byte dropped), and a body cut inside the key.
    const short = body.slice(0, body.length - 1);
    short[short.length - 32] = 31;
    expect(decodeFrame(short)).toMatchObject({ ok: false, error: { code: 'bad-length' } });
    expect(decodeFrame(body.subarray(0, body.length - 1))).toMatchObject({
      ok: false,
      error: { code: 'truncated' },
    });
  });

  it('refuses invalid UTF-8 and over-long strings', () => {
    const body = encodeFrame({ ...refused, message: 'ab' }).subarray(FRAME_PREFIX_BYTES);
    const badUtf8 = body.slice();
    badUtf8[badUtf8.length - 1] = 0xff;
    expect(decodeFrame(badUtf8)).toMatchObject({ ok: false, error: { code: 'bad-value' } });
    const tooLong = new Uint8Array([1, 3, 0, 0, 0x04, 0x01, ...new Uint8Array(1025)]);
    expect(decodeFrame(tooLong)).toMatchObject({ ok: false, error: { code: 'bad-length' } });
  });
});
