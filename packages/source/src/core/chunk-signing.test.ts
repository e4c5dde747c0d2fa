import { createVerifier, generateSigner, sha256 } from '@p2psp/host';
import {
  CHUNK_HASH_BYTES,
  chunkDigestCount,
  chunkDigestSignedBytes,
  chunkHash,
  decodeChunkDigest,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { ChunkSigning } from './chunk-signing.js';

const signer = generateSigner();
const verifier = createVerifier();
const payload = (chunkNumber: number) => new Uint8Array(100).fill(chunkNumber & 0xff);

describe('ChunkSigning (the source signs a digest of every run of chunks)', () => {
  it('puts the signed digest of each run on its last chunk, covering that chunk too', () => {
    const signing = new ChunkSigning({ sha256, signer }, 4, 16);
    const trailers = [];
    for (let chunkNumber = 0xffff_fffe; trailers.length < 9; ) {
      trailers.push(signing.cut(chunkNumber, payload(chunkNumber), false));
      chunkNumber = (chunkNumber + 1) >>> 0;
    }
    expect(trailers.map((trailer) => trailer.length > 0)).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
    const decoded = decodeChunkDigest(trailers[3]!);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    const digest = decoded.message;
    expect(digest.firstChunkNumber).toBe(0xffff_fffe);
    expect(chunkDigestCount(digest)).toBe(4);
    // Chunk numbers wrap (RFC 1982): the run crosses 2^32.
    expect(digest.hashes.subarray(3 * CHUNK_HASH_BYTES)).toEqual(
      new Uint8Array(chunkHash(sha256, 1, payload(1))),
    );
    expect(
      verifier.verify(
        signer.publicKey,
        chunkDigestSignedBytes(digest.firstChunkNumber, digest.hashes),
        digest.signature,
      ),
    ).toBe(true);
  });

  it("signs the partial last run when the stream ends, and keeps each chunk's trailer for resends", () => {
    const signing = new ChunkSigning({ sha256, signer }, 8, 16);
    for (let chunkNumber = 0; chunkNumber < 8; chunkNumber++)
      signing.cut(chunkNumber, payload(chunkNumber), false);
    expect(signing.cut(8, payload(8), false)).toHaveLength(0);
    expect(signing.trailerFor(8)).toHaveLength(0);
    const last = signing.cut(9, payload(9), true);
    expect(last.length).toBeGreaterThan(0);
    expect(signing.trailerFor(8)).toBe(last);
    expect(signing.trailerFor(3)).toEqual(signing.trailerFor(0));
    // Older than B: gone.
    for (let chunkNumber = 10; chunkNumber < 30; chunkNumber++)
      signing.cut(chunkNumber, payload(chunkNumber), false);
    expect(signing.trailerFor(3)).toHaveLength(0);
  });
});
