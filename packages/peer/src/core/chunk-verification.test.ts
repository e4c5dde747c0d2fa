import { createVerifier, generateSigner, sha256 } from '@p2psp/host';
import { chunkDigestSignedBytes, chunkHash, encodeChunkDigest, type Verifier } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { type ChunkCrypto, ChunkVerification } from './chunk-verification.js';

const signer = generateSigner();
const publicKey = signer.publicKey;
const hostVerifier = createVerifier();
let verifications = 0;
const verifier: Verifier = {
  verify(key, message, signature) {
    verifications++;
    return hostVerifier.verify(key, message, signature);
  },
};
const crypto: ChunkCrypto = { sha256, verifier };

const payload = (chunkNumber: number, forged = false) =>
  new Uint8Array(64).fill(forged ? 0xee : chunkNumber & 0xff);

/** The source's digest of chunks first..first+count-1 (their real payloads). */
function digestOf(first: number, count: number): Uint8Array {
  const hashes = new Uint8Array(count * 8);
  for (let offset = 0; offset < count; offset++) {
    hashes.set(chunkHash(sha256, first + offset, payload(first + offset)), offset * 8);
  }
  const signature = signer.sign(chunkDigestSignedBytes(first, hashes));
  return encodeChunkDigest({ firstChunkNumber: first, hashes, signature });
}

const SOURCE = -1;
const ATTACKER = 9;
const HONEST = 2;

function verification(maxPending = 64) {
  return new ChunkVerification<string>(crypto, publicKey, { horizonChunks: 64, maxPending });
}

describe('ChunkVerification (signed chunks)', () => {
  it('holds chunks until the digest that covers them, then releases them in order', () => {
    const checks = verification();
    expect(checks.chunk(11, payload(11), HONEST, 'c11')).toBe('pending');
    expect(checks.chunk(10, payload(10), SOURCE, 'c10')).toBe('pending');
    const outcome = checks.digest(digestOf(10, 4));
    expect(outcome).toEqual({ check: 'verified', count: 4, valid: ['c10', 'c11'], invalid: [] });
    // The carrier of the digest is covered by it: valid on arrival.
    expect(checks.chunk(13, payload(13), HONEST, 'c13')).toBe('valid');
    expect(checks.stats()).toMatchObject({ digestsVerified: 1, chunksVerified: 3, pending: 0 });
  });

  it('a forged copy that came first never hides the real one, before or after the digest', () => {
    const checks = verification();
    expect(checks.chunk(20, payload(20, true), ATTACKER, 'forged 20')).toBe('pending');
    expect(checks.chunk(20, payload(20), HONEST, 'real 20')).toBe('pending');
    expect(checks.chunk(21, payload(21, true), ATTACKER, 'forged 21')).toBe('pending');
    const outcome = checks.digest(digestOf(20, 8));
    expect(outcome.valid).toEqual(['real 20']);
    expect(outcome.invalid).toEqual(['forged 20', 'forged 21']);
    // After the digest: checked at once, and the real copy still gets in.
    expect(checks.chunk(21, payload(21, true), ATTACKER, 'forged again')).toBe('invalid');
    expect(checks.chunk(21, payload(21), HONEST, 'real 21')).toBe('valid');
  });

  it('ignores a digest whose signature is not the source, and a trailer that is no digest', () => {
    const checks = verification();
    expect(checks.chunk(30, payload(30), HONEST, 'c30')).toBe('pending');
    const forged = digestOf(30, 2);
    forged[forged.length - 1]! ^= 1;
    expect(checks.digest(forged).check).toBe('forged');
    // A digest of forged hashes signed by another key is no better.
    const other = generateSigner();
    const hashes = new Uint8Array(16).fill(1);
    const foreign = encodeChunkDigest({
      firstChunkNumber: 30,
      hashes,
      signature: other.sign(chunkDigestSignedBytes(30, hashes)),
    });
    expect(checks.digest(foreign).check).toBe('forged');
    expect(checks.digest(Uint8Array.of(1, 2, 3)).check).toBe('malformed');
    expect(checks.stats().pending).toBe(1);
    expect(checks.digest(digestOf(30, 2)).valid).toEqual(['c30']);
  });

  it('checks a digest signature once, however many relays carry it', () => {
    const checks = verification();
    const trailer = digestOf(40, 8);
    const before = verifications;
    expect(checks.digest(trailer).check).toBe('verified');
    expect(checks.digest(trailer).check).toBe('known');
    expect(checks.digest(digestOf(40, 8)).check).toBe('known');
    expect(verifications - before).toBe(1);
    expect(checks.digestFor(43)).toBe(trailer);
    expect(checks.digestFor(48)).toBeNull();
  });

  it('is bounded: one copy per sender and number, 4 copies per number, maxPending in all', () => {
    const checks = verification(6);
    expect(checks.chunk(50, payload(50), HONEST, 'a')).toBe('pending');
    expect(checks.chunk(50, payload(50), 3, 'same payload')).toBe('duplicate');
    expect(checks.chunk(50, payload(50, true), HONEST, 'another from the same sender')).toBe(
      'full',
    );
    for (const sender of [4, 5, 6]) {
      expect(checks.chunk(50, new Uint8Array([sender]), sender, 'x')).toBe('pending');
    }
    expect(checks.chunk(50, new Uint8Array([7]), 7, 'fifth')).toBe('full');
    expect(checks.chunk(51, payload(51), HONEST, 'b')).toBe('pending');
    expect(checks.chunk(52, payload(52), HONEST, 'c')).toBe('pending');
    expect(checks.chunk(53, payload(53), HONEST, 'over maxPending')).toBe('full');
    expect(checks.stats().pending).toBe(6);
  });

  it('forgets hashes and held chunks far behind the newest signed chunk', () => {
    const checks = verification();
    expect(checks.chunk(1, payload(1, true), ATTACKER, 'never signed')).toBe('pending');
    for (let first = 100; first < 300; first += 8) checks.digest(digestOf(first, 8));
    expect(checks.stats().pending).toBe(0);
    expect(checks.digestFor(100)).toBeNull();
    expect(checks.digestFor(290)).not.toBeNull();
  });
});
