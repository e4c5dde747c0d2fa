import type { Chunk, Endpoint, Instant, JoinAccept } from '@p2psp/wire';
import {
  type ChunkCrypto,
  ChunkVerification,
  type VerificationStats,
} from './chunk-verification.js';
import type { PeerContext } from './peer-context.js';

/**
 * What a chunk does once it is valid: stored, relayed and played as before signatures.
 * `held`: it waited for its digest (the window may have moved since).
 */
export type ChunkAction = (now: Instant, held: boolean) => void;

interface Held {
  readonly from: Endpoint;
  readonly action: ChunkAction;
}

/** The sender of the source's own chunks, told apart from every member id. */
export const SOURCE_SENDER = -1;

/**
 * Unverified chunks held, per buffer slot: an honest run is at most `MAX_DIGEST_CHUNKS`
 * chunks, so 4B leaves room for the honest ones beside what one forger can hold (one per
 * number, within the window of B).
 */
const PENDING_PER_BUFFER_SLOT = 4;

export const NO_VERIFICATION_STATS: VerificationStats = {
  digestsVerified: 0,
  chunksVerified: 0,
  chunksHeld: 0,
  pending: 0,
};

/**
 * Signed chunks (CIS), the peer's rule: no chunk is stored, relayed or played before its
 * hash matches the one the source signed (`ChunkVerification`). The source's public key
 * comes with the join accept; a source that sends none signs nothing, and chunks go on at
 * once (a trusted LAN: the play window's schedule rules are then the guard, see
 * docs/security.md). A forged chunk is dropped (`forged-chunk`); its real copy, before or
 * after it, still gets in.
 */
export class SignedChunks {
  readonly #context: PeerContext;
  readonly #crypto: ChunkCrypto | null;
  /** A digest of `chunks` was verified: chunks may wait that long (play-out's delay). */
  readonly #runVerified: (chunks: number) => void;
  #verification: ChunkVerification<Held> | null = null;

  constructor(
    context: PeerContext,
    crypto: ChunkCrypto | null,
    runVerified: (chunks: number) => void,
  ) {
    this.#context = context;
    this.#crypto = crypto;
    this.#runVerified = runVerified;
  }

  /**
   * Rule 4: the accept carries the source's key, or none when it signs nothing. True when
   * chunks will be verified.
   */
  start(accept: JoinAccept): boolean {
    if (accept.sourceKey.length === 0 || this.#crypto === null) return false;
    this.#verification = new ChunkVerification(this.#crypto, accept.sourceKey, {
      horizonChunks: accept.bufferSize,
      maxPending: PENDING_PER_BUFFER_SLOT * accept.bufferSize,
    });
    return true;
  }

  stats(): VerificationStats {
    return this.#verification?.stats() ?? NO_VERIFICATION_STATS;
  }

  /** The signed digest that covers `chunkNumber` (for repair answers), or empty. */
  digestFor(chunkNumber: number): Uint8Array | null {
    return this.#verification?.digestFor(chunkNumber) ?? null;
  }

  /**
   * A chunk that passed the window checks: its trailer's digest is taken first (it may
   * release held chunks, which then run their actions in chunk order), then the chunk runs
   * `action` now if valid, later when its digest comes, or never (dropped and counted).
   * `sender` is the member id it came from (`SOURCE_SENDER` for the source).
   */
  admit(chunk: Chunk, from: Endpoint, sender: number, action: ChunkAction, now: Instant): void {
    const verification = this.#verification;
    if (verification === null) {
      action(now, false);
      return;
    }
    const context = this.#context;
    if (chunk.signature.length > 0) {
      const outcome = verification.digest(chunk.signature);
      if (outcome.check === 'malformed' || outcome.check === 'forged') {
        context.drop('bad-digest', from, outcome.check);
      }
      if (outcome.check === 'verified') this.#runVerified(outcome.count);
      for (const held of outcome.invalid) context.drop('forged-chunk', held.from);
      for (const held of outcome.valid) held.action(now, true);
    }
    switch (verification.chunk(chunk.chunkNumber, chunk.payload, sender, { from, action })) {
      case 'valid':
        action(now, false);
        return;
      case 'invalid':
        context.drop('forged-chunk', from);
        return;
      case 'duplicate':
        context.stats.chunksDuplicated++;
        return;
      case 'full':
        context.drop('unverified-full', from);
        return;
      case 'pending':
        return;
    }
  }
}
