import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_HASH_BYTES,
  type ChunkDigest,
  chunkDigestBytes,
  chunkDigestCount,
  chunkDigestSignedBytes,
  chunkHash,
  decodeChunkDigest,
  encodeChunkDigest,
  MAX_DIGEST_CHUNKS,
  type Sha256,
} from './chunk-digest.js';
import { decodeDatagram, encodeDatagram } from './datagram-codec.js';
import { MAX_SIGNATURE_BYTES } from './format.js';
import { WireError } from './wire-error.js';

const sha256: Sha256 = (parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

const digest: fc.Arbitrary<ChunkDigest> = fc.record({
  firstChunkNumber: fc.integer({ min: 0, max: 0xffff_ffff }),
  hashes: fc
    .integer({ min: 1, max: MAX_DIGEST_CHUNKS })
    .chain((count) =>
      fc.uint8Array({ minLength: count * CHUNK_HASH_BYTES, maxLength: count * CHUNK_HASH_BYTES }),
    ),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
});

describe('chunk digest codec', () => {
  it('fits the chunk trailer: at most 23 chunks, 254 bytes', () => {
    expect(MAX_DIGEST_CHUNKS).toBe(23);
    expect(chunkDigestBytes(MAX_DIGEST_CHUNKS)).toBeLessThanOrEqual(MAX_SIGNATURE_BYTES);
    expect(chunkDigestBytes(8)).toBe(134);
  });

  it('round-trips any digest, also inside a chunk datagram', () => {
    fc.assert(
      fc.property(digest, (value) => {
        const bytes = encodeChunkDigest(value);
        expect(bytes.length).toBe(chunkDigestBytes(chunkDigestCount(value)));
        const decoded = decodeChunkDigest(bytes);
        expect(decoded).toEqual({ ok: true, message: value });
        const datagram = decodeDatagram(
          encodeDatagram({
            type: 'chunk',
            chunkNumber: 7,
            origin: 1,
            flags: { nonExclusive: false, recovered: false },
            payload: new Uint8Array(1024),
            signature: bytes,
          }),
        );
        expect(datagram.ok && datagram.message.type === 'chunk').toBe(true);
        if (datagram.ok && datagram.message.type === 'chunk') {
          expect(decodeChunkDigest(datagram.message.signature)).toEqual(decoded);
        }
      }),
    );
  });

  it('has a fixed layout (kind, first, count, hashes, signature)', () => {
    const bytes = encodeChunkDigest({
      firstChunkNumber: 0x01020304,
      hashes: new Uint8Array(16).fill(0xaa),
      signature: new Uint8Array(64).fill(0xbb),
    });
    expect(Array.from(bytes.subarray(0, 6))).toEqual([1, 1, 2, 3, 4, 2]);
    expect(bytes.subarray(6, 22).every((byte) => byte === 0xaa)).toBe(true);
    expect(bytes.subarray(22).every((byte) => byte === 0xbb)).toBe(true);
  });

  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['header only', Uint8Array.of(1, 0, 0, 0, 0, 1), 'truncated'],
    ['another kind', Uint8Array.of(2, 0, 0, 0, 0, 1), 'bad-value'],
    ['count 0', Uint8Array.of(1, 0, 0, 0, 0, 0), 'bad-length'],
    ['count 24', Uint8Array.of(1, 0, 0, 0, 0, 24), 'bad-length'],
    ['a byte too many', Uint8Array.of(1, 0, 0, 0, 0, 1, ...new Uint8Array(73)), 'bad-length'],
    ['a byte too few', Uint8Array.of(1, 0, 0, 0, 0, 1, ...new Uint8Array(71)), 'truncated'],
  ])('rejects a malformed trailer: %s', (_name, bytes, code) => {
    const decoded = decodeChunkDigest(bytes);
    expect(decoded.ok ? null : decoded.error.code).toBe(code);
  });

  it('never throws on random or mutated trailers; what decodes re-encodes to the same bytes', () => {
    const mutated = fc
      .tuple(
        digest,
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: -80, max: 80 }),
      )
      .map(([value, at, byte, resize]) => {
        const bytes = encodeChunkDigest(value);
        const copy = new Uint8Array(Math.max(0, bytes.length + resize));
        copy.set(bytes.subarray(0, copy.length));
        if (copy.length > 0) copy[at % copy.length] = byte;
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), (bytes) => {
        const decoded = decodeChunkDigest(bytes);
        if (decoded.ok) expect(encodeChunkDigest(decoded.message)).toEqual(bytes);
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses to encode a digest that does not fit', () => {
    const signature = new Uint8Array(64);
    for (const hashes of [new Uint8Array(0), new Uint8Array(7), new Uint8Array(24 * 8)]) {
      expect(() => encodeChunkDigest({ firstChunkNumber: 0, hashes, signature })).toThrow(
        WireError,
      );
    }
    expect(() =>
      encodeChunkDigest({
        firstChunkNumber: 0,
        hashes: new Uint8Array(8),
        signature: signature.subarray(1),
      }),
    ).toThrow(WireError);
  });

  it('binds the hashes to chunk numbers, and the signature to the whole digest', () => {
    const payload = new Uint8Array(1024).fill(3);
    expect(chunkHash(sha256, 1, payload)).not.toEqual(chunkHash(sha256, 2, payload));
    expect(chunkHash(sha256, 1, payload)).toHaveLength(CHUNK_HASH_BYTES);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const hashes = new Uint8Array([
      ...chunkHash(sha256, 1, payload),
      ...chunkHash(sha256, 2, payload),
    ]);
    const signed = chunkDigestSignedBytes(1, hashes);
    const signature = sign(null, signed, privateKey);
    expect(verify(null, signed, publicKey, signature)).toBe(true);
    expect(verify(null, chunkDigestSignedBytes(2, hashes), publicKey, signature)).toBe(false);
    expect(
      verify(null, chunkDigestSignedBytes(1, hashes.subarray(0, 8)), publicKey, signature),
    ).toBe(false);
  });
});
