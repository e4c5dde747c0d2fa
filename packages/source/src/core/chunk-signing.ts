import {
  CHUNK_HASH_BYTES,
  chunkDigestSignedBytes,
  chunkHash,
  encodeChunkDigest,
  type Sha256,
  type Signer,
} from '@p2psp/wire';

const NO_TRAILER = new Uint8Array(0);

/** What the source signs chunks with: the runtime passes these in (`node:crypto` in Node). */
export interface ChunkSigningCrypto {
  readonly sha256: Sha256;
  readonly signer: Signer;
}

/**
 * Signed chunks (CIS), the source's side: the hash of every chunk cut is added to the
 * current run; the run's last chunk (every `digestChunks`, or the stream's last) carries the
 * signed digest of the whole run, itself included, as its trailer (`@p2psp/wire`
 * chunk-digest.ts). That chunk is relayed to every peer (rule 2), so the digest reaches
 * all of them at no extra datagram; and since it covers its own carrier, the carrier is
 * valid on arrival and its origin relays it at once. The trailers of the last B chunks are
 * kept, so an LRS resend or an onboarding chunk carries the digest that covers it.
 */
export class ChunkSigning {
  readonly #crypto: ChunkSigningCrypto;
  readonly #digestChunks: number;
  readonly #hashes: Uint8Array;
  #runFirst = 0;
  #runCount = 0;
  /** The trailer that covers each of the last B chunks (slot chunkNumber mod B). */
  readonly #trailers: (Uint8Array | undefined)[];
  readonly #trailerNumbers: Float64Array;

  constructor(crypto: ChunkSigningCrypto, digestChunks: number, bufferSize: number) {
    this.#crypto = crypto;
    this.#digestChunks = digestChunks;
    this.#hashes = new Uint8Array(digestChunks * CHUNK_HASH_BYTES);
    this.#trailers = new Array<Uint8Array | undefined>(bufferSize).fill(undefined);
    this.#trailerNumbers = new Float64Array(bufferSize).fill(-1);
  }

  /**
   * The chunk just cut (numbers are consecutive: the chunker's). Returns its trailer: the
   * signed digest of the run it closes (the `digestChunks`-th, or `last`: the stream
   * ends), else empty.
   */
  cut(chunkNumber: number, payload: Uint8Array, last: boolean): Uint8Array {
    if (this.#runCount === 0) this.#runFirst = chunkNumber;
    const hash = chunkHash(this.#crypto.sha256, chunkNumber, payload);
    this.#hashes.set(hash, this.#runCount * CHUNK_HASH_BYTES);
    this.#runCount++;
    if (this.#runCount < this.#digestChunks && !last) return NO_TRAILER;
    const hashes = this.#hashes.slice(0, this.#runCount * CHUNK_HASH_BYTES);
    const first = this.#runFirst;
    const trailer = encodeChunkDigest({
      firstChunkNumber: first,
      hashes,
      signature: this.#crypto.signer.sign(chunkDigestSignedBytes(first, hashes)),
    });
    for (let offset = 0; offset < this.#runCount; offset++) {
      const number = (first + offset) >>> 0;
      const slot = number % this.#trailers.length;
      this.#trailers[slot] = trailer;
      this.#trailerNumbers[slot] = number;
    }
    this.#runCount = 0;
    return trailer;
  }

  /** Chunks were cut since the last digest: the stream's end must close their run. */
  get runOpen(): boolean {
    return this.#runCount > 0;
  }

  /** The trailer of the digest covering `chunkNumber` (empty until its run is closed). */
  trailerFor(chunkNumber: number): Uint8Array {
    const slot = chunkNumber % this.#trailers.length;
    return this.#trailerNumbers[slot] === chunkNumber
      ? (this.#trailers[slot] ?? NO_TRAILER)
      : NO_TRAILER;
  }
}
