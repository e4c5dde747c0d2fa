import { type DecodeResult, failure } from './decode-result.js';
import { MAX_SIGNATURE_BYTES } from './format.js';
import { SIGNATURE_BYTES } from './signing.js';
import { encodeError } from './wire-error.js';

/**
 * Signed chunks (CIS): every few chunks the source signs a digest, the truncated SHA-256
 * hashes of a run of consecutive chunks, and sends it as the trailer (`Chunk.signature`) of
 * the last chunk of that run. The trailer travels with its chunk to every peer, so it costs
 * the source nothing extra, and a peer checks one Ed25519 signature per run instead of one
 * per chunk (PPSPP, RFC 7574 section 6.1, signs Merkle roots over runs for the same reason).
 *
 * Trailer layout (README "chunk digest"), `6 + 8 * count + 64` bytes:
 *
 * | offset | size      | field            |
 * | ------ | --------- | ---------------- |
 * | 0      | 1         | kind = 0x01      |
 * | 1      | 4         | firstChunkNumber |
 * | 5      | 1         | count (1..23)    |
 * | 6      | 8 x count | hashes           |
 * | 6+8c   | 64        | signature        |
 */
export interface ChunkDigest {
  /** The first chunk the digest covers; it covers `count` consecutive numbers (RFC 1982). */
  readonly firstChunkNumber: number;
  /** `count` hashes of `CHUNK_HASH_BYTES` each, in chunk order (a view when decoded). */
  readonly hashes: Uint8Array;
  /** The source's Ed25519 signature of `chunkDigestSignedBytes(digest)`. */
  readonly signature: Uint8Array;
}

/** SHA-256 (FIPS 180-4) of the concatenation of `parts`; the runtime passes it in. */
export type Sha256 = (parts: readonly Uint8Array[]) => Uint8Array;

/**
 * A chunk's hash is SHA-256 truncated to 8 bytes: forging a chunk means a second preimage
 * of 64 bits (2^64 hashes) between the digest's arrival and the chunk's play time, seconds.
 */
export const CHUNK_HASH_BYTES = 8;

const DIGEST_KIND = 0x01;
const DIGEST_HEADER_BYTES = 6;

/** The most chunks one digest covers: its trailer fits the one-byte signature length. */
export const MAX_DIGEST_CHUNKS = Math.floor(
  (MAX_SIGNATURE_BYTES - DIGEST_HEADER_BYTES - SIGNATURE_BYTES) / CHUNK_HASH_BYTES,
);

/** Bytes of the trailer of a digest of `count` chunks. */
export function chunkDigestBytes(count: number): number {
  return DIGEST_HEADER_BYTES + CHUNK_HASH_BYTES * count + SIGNATURE_BYTES;
}

/** Chunks a digest covers. */
export function chunkDigestCount(digest: ChunkDigest): number {
  return digest.hashes.length / CHUNK_HASH_BYTES;
}

/** Domain separation: these bytes are never a valid membership credential's. */
const SIGNED_PREFIX = new TextEncoder().encode('p2psp chunk digest 1\0');

/** What the source signs: a domain prefix, the first chunk number, the count, the hashes. */
export function chunkDigestSignedBytes(firstChunkNumber: number, hashes: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(SIGNED_PREFIX.length + 5 + hashes.length);
  bytes.set(SIGNED_PREFIX, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(SIGNED_PREFIX.length, firstChunkNumber >>> 0);
  bytes[SIGNED_PREFIX.length + 4] = hashes.length / CHUNK_HASH_BYTES;
  bytes.set(hashes, SIGNED_PREFIX.length + 5);
  return bytes;
}

/** The hash of one chunk: SHA-256 of its 4-byte number and payload, truncated. */
export function chunkHash(sha256: Sha256, chunkNumber: number, payload: Uint8Array): Uint8Array {
  const number = new Uint8Array(4);
  new DataView(number.buffer).setUint32(0, chunkNumber >>> 0);
  return sha256([number, payload]).subarray(0, CHUNK_HASH_BYTES);
}

/** The trailer bytes of a digest. Throws `WireError` when a field does not fit. */
export function encodeChunkDigest(digest: ChunkDigest): Uint8Array {
  const { hashes, signature } = digest;
  const count = hashes.length / CHUNK_HASH_BYTES;
  if (!Number.isInteger(count) || count < 1 || count > MAX_DIGEST_CHUNKS) {
    throw encodeError(
      'chunkDigest.hashes',
      `must hold 1 to ${MAX_DIGEST_CHUNKS} hashes of ${CHUNK_HASH_BYTES} bytes (got ${hashes.length} bytes)`,
    );
  }
  if (signature.length !== SIGNATURE_BYTES) {
    throw encodeError('chunkDigest.signature', `must be ${SIGNATURE_BYTES} bytes`);
  }
  const first = digest.firstChunkNumber;
  if (!Number.isInteger(first) || first < 0 || first > 0xffff_ffff) {
    throw encodeError('chunkDigest.firstChunkNumber', 'must be a 32-bit unsigned integer');
  }
  const bytes = new Uint8Array(chunkDigestBytes(count));
  bytes[0] = DIGEST_KIND;
  new DataView(bytes.buffer).setUint32(1, first);
  bytes[5] = count;
  bytes.set(hashes, DIGEST_HEADER_BYTES);
  bytes.set(signature, DIGEST_HEADER_BYTES + hashes.length);
  return bytes;
}

/** Decodes a chunk's trailer as a digest; never throws. Hashes and signature are views. */
export function decodeChunkDigest(trailer: Uint8Array): DecodeResult<ChunkDigest> {
  if (trailer.length < DIGEST_HEADER_BYTES) {
    return failure('truncated', `chunk digest: ${trailer.length} bytes, header is 6`);
  }
  if (trailer[0] !== DIGEST_KIND) {
    return failure('bad-value', `chunk digest: kind 0x${trailer[0]!.toString(16)}, expected 0x01`);
  }
  const count = trailer[5]!;
  if (count < 1 || count > MAX_DIGEST_CHUNKS) {
    return failure('bad-length', `chunk digest: count ${count}, 1 to ${MAX_DIGEST_CHUNKS}`);
  }
  const end = chunkDigestBytes(count);
  if (trailer.length !== end) {
    return trailer.length < end
      ? failure('truncated', `chunk digest: declares ${end} bytes, got ${trailer.length}`)
      : failure('bad-length', `chunk digest: ${trailer.length - end} bytes after its end`);
  }
  const hashesEnd = DIGEST_HEADER_BYTES + count * CHUNK_HASH_BYTES;
  return {
    ok: true,
    message: {
      firstChunkNumber:
        ((trailer[1]! << 24) | (trailer[2]! << 16) | (trailer[3]! << 8) | trailer[4]!) >>> 0,
      hashes: trailer.subarray(DIGEST_HEADER_BYTES, hashesEnd),
      signature: trailer.subarray(hashesEnd, end),
    },
  };
}
