import {
  CHUNK_HASH_BYTES,
  chunkDigestSignedBytes,
  chunkHash,
  decodeChunkDigest,
  type Sha256,
  type Verifier,
} from '@p2psp/wire';

/** What a peer checks chunks with: the runtime passes these in (`node:crypto` in Node). */
export interface ChunkCrypto {
  readonly sha256: Sha256;
  readonly verifier: Verifier;
}

/**
 * Copies of one chunk number held unverified, each from another sender. An honest sender
 * sends one payload per number, so a forger takes at most one place per identity, and the
 * real copy (from the source, its origin, or a repair answer) still finds room.
 */
const CANDIDATES_PER_CHUNK = 4;

/**
 * - `valid`: its hash is the one the source signed: store, relay, play it.
 * - `invalid`: it is not: forged (or corrupted); drop it, count it against its sender.
 * - `pending`: no signed hash for its number yet; held until a digest covers it.
 * - `duplicate`: the same payload is already held unverified.
 * - `full`: no room to hold it (its number has `CANDIDATES_PER_CHUNK` copies or one from
 *   this sender, or the pending area is full): dropped.
 */
export type ChunkCheck = 'valid' | 'invalid' | 'pending' | 'duplicate' | 'full';

/**
 * - `verified`: a new digest with the source's signature; its hashes are now known.
 * - `known`: every chunk it covers has a known hash already: not checked again.
 * - `malformed`: the trailer is no digest. `forged`: its signature is not the source's.
 */
export type DigestCheck = 'verified' | 'known' | 'malformed' | 'forged';

export interface VerificationStats {
  /** Digests whose signature was checked and was the source's. */
  readonly digestsVerified: number;
  /** Chunks whose hash matched a signed one (each stored copy once). */
  readonly chunksVerified: number;
  /** Chunks that waited in the pending area for their digest. */
  readonly chunksHeld: number;
  /** Chunks held unverified now. */
  readonly pending: number;
}

interface Candidate<T> {
  readonly hash: Uint8Array;
  readonly sender: number;
  readonly item: T;
}

interface Known {
  readonly hash: Uint8Array;
  /** The trailer of the digest that signed it, for repair answers (`digestFor`). */
  readonly trailer: Uint8Array;
}

/**
 * Signed chunks (CIS), as the peer checks them. The source signs a digest of the hashes of
 * every run of consecutive chunks and sends it as the trailer of the run's last chunk
 * (`@p2psp/wire` chunk-digest.ts). A chunk is valid when its hash equals the signed one.
 * A chunk whose digest has not come yet waits here, with the context the caller needs to
 * store it (`T`), until a digest covering it arrives: then the caller gets the valid
 * copies, in chunk order, and the forged ones. A forged copy never hides a valid one: all
 * copies of a number are kept (bounded) until the digest decides, and once the hash is
 * known every later copy is checked at once.
 *
 * Sans-IO: the hash and the signature check are functions passed in. Bounded: hashes are
 * kept for `horizonChunks` numbers, and at most `maxPending` chunks wait.
 */
export class ChunkVerification<T> {
  readonly #crypto: ChunkCrypto;
  readonly #publicKey: Uint8Array;
  readonly #horizonChunks: number;
  readonly #maxPending: number;
  /** Signed hashes by chunk number, oldest first (insertion order). */
  readonly #known = new Map<number, Known>();
  readonly #pending = new Map<number, Candidate<T>[]>();
  #pendingCount = 0;
  #digestsVerified = 0;
  #chunksVerified = 0;
  #chunksHeld = 0;

  constructor(
    crypto: ChunkCrypto,
    publicKey: Uint8Array,
    limits: { readonly horizonChunks: number; readonly maxPending: number },
  ) {
    this.#crypto = crypto;
    this.#publicKey = publicKey;
    this.#horizonChunks = limits.horizonChunks;
    this.#maxPending = limits.maxPending;
  }

  stats(): VerificationStats {
    return {
      digestsVerified: this.#digestsVerified,
      chunksVerified: this.#chunksVerified,
      chunksHeld: this.#chunksHeld,
      pending: this.#pendingCount,
    };
  }

  /**
   * A chunk's trailer. A digest with the source's signature makes its hashes known; the
   * held copies of the chunks it covers are then decided: `valid` in chunk order (at most
   * one per number), `invalid` the others. A digest that covers only known hashes is not
   * checked again (every relay of its chunk carries it).
   */
  digest(trailer: Uint8Array): {
    readonly check: DigestCheck;
    /** Chunks the digest covers (0 unless `verified`). */
    readonly count: number;
    readonly valid: T[];
    readonly invalid: T[];
  } {
    const valid: T[] = [];
    const invalid: T[] = [];
    const decoded = decodeChunkDigest(trailer);
    if (!decoded.ok) return { check: 'malformed', count: 0, valid, invalid };
    const { firstChunkNumber, hashes, signature } = decoded.message;
    const count = hashes.length / CHUNK_HASH_BYTES;
    let unknown = false;
    for (let offset = 0; offset < count && !unknown; offset++) {
      unknown = !this.#known.has((firstChunkNumber + offset) >>> 0);
    }
    if (!unknown) return { check: 'known', count: 0, valid, invalid };
    const signed = chunkDigestSignedBytes(firstChunkNumber, hashes);
    if (!this.#crypto.verifier.verify(this.#publicKey, signed, signature)) {
      return { check: 'forged', count: 0, valid, invalid };
    }
    this.#digestsVerified++;
    for (let offset = 0; offset < count; offset++) {
      const chunkNumber = (firstChunkNumber + offset) >>> 0;
      if (this.#known.has(chunkNumber)) continue;
      const hash = hashes.subarray(offset * CHUNK_HASH_BYTES, (offset + 1) * CHUNK_HASH_BYTES);
      this.#known.set(chunkNumber, { hash, trailer });
      const candidates = this.#pending.get(chunkNumber);
      if (candidates === undefined) continue;
      this.#pending.delete(chunkNumber);
      this.#pendingCount -= candidates.length;
      for (const candidate of candidates) {
        if (sameBytes(candidate.hash, hash)) {
          this.#chunksVerified++;
          valid.push(candidate.item);
        } else {
          invalid.push(candidate.item);
        }
      }
    }
    this.#forgetOld((firstChunkNumber + count - 1) >>> 0);
    return { check: 'verified', count, valid, invalid };
  }

  /**
   * A chunk (its trailer already given to `digest`): checked against the signed hash of its
   * number, or held until one comes. `sender` tells copies apart (a member id).
   */
  chunk(chunkNumber: number, payload: Uint8Array, sender: number, item: T): ChunkCheck {
    const hash = chunkHash(this.#crypto.sha256, chunkNumber, payload);
    const known = this.#known.get(chunkNumber);
    if (known !== undefined) {
      if (!sameBytes(known.hash, hash)) return 'invalid';
      this.#chunksVerified++;
      return 'valid';
    }
    let candidates = this.#pending.get(chunkNumber);
    if (candidates?.some((candidate) => sameBytes(candidate.hash, hash))) return 'duplicate';
    if (
      this.#pendingCount >= this.#maxPending ||
      (candidates !== undefined &&
        (candidates.length >= CANDIDATES_PER_CHUNK ||
          candidates.some((candidate) => candidate.sender === sender)))
    ) {
      return 'full';
    }
    if (candidates === undefined) {
      candidates = [];
      this.#pending.set(chunkNumber, candidates);
    }
    candidates.push({ hash, sender, item });
    this.#pendingCount++;
    this.#chunksHeld++;
    return 'pending';
  }

  /** The trailer of the signed digest that covers `chunkNumber`, or null (not known). */
  digestFor(chunkNumber: number): Uint8Array | null {
    return this.#known.get(chunkNumber)?.trailer ?? null;
  }

  /**
   * Keeps hashes and held chunks within `horizonChunks` numbers of the newest signed one: the
   * older ones were played (or given up) long ago, and the maps stay bounded.
   */
  #forgetOld(newest: number): void {
    const isOld = (chunkNumber: number) =>
      (newest - chunkNumber) >>> 0 >= this.#horizonChunks &&
      (newest - chunkNumber) >>> 0 < 0x8000_0000;
    for (const chunkNumber of this.#known.keys()) {
      if (!isOld(chunkNumber) && this.#known.size <= 2 * this.#horizonChunks) break;
      this.#known.delete(chunkNumber);
    }
    for (const [chunkNumber, candidates] of this.#pending) {
      if (!isOld(chunkNumber)) continue;
      this.#pending.delete(chunkNumber);
      this.#pendingCount -= candidates.length;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
