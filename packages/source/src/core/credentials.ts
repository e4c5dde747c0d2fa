import { type Member, toMemberInfo } from '@p2psp/cluster';
import { signCredential } from '@p2psp/wire';
import type { Chunker } from './chunker.js';
import type { ResolvedSourceConfig } from './source-config.js';
import type { SourceContext } from './source-context.js';

/**
 * Membership credentials (docs/security.md): the source's signed word that a member is who
 * and where it says. Each member gets one in the hello-ack that completes its join, the
 * first moment the source sees its UDP endpoint, and a fresh one in the ack of any later
 * hello (a member renews before showing an expired one). Members show it in their hellos;
 * one that does not know the sender takes it as a neighbour on the signature, so the
 * source introduces a joiner only to members behind a NAT that filters it
 * (`Introductions`).
 *
 * Expiry is on the stream's clock (a chunk number, `credentialLifetimeMillis` of chunks
 * ahead), which every member follows from the source's chunks: a stalled ingest stops it
 * too. It bounds how long a removed member, whose removal a later joiner never heard, can
 * still win new neighbours.
 */
export class Credentials {
  readonly #context: SourceContext;
  readonly #config: ResolvedSourceConfig;
  readonly #chunker: Chunker;

  constructor(context: SourceContext, config: ResolvedSourceConfig, chunker: Chunker) {
    this.#context = context;
    this.#config = config;
    this.#chunker = chunker;
  }

  /** Whether the source signs credentials (it has a key): peers then take joiners on them. */
  get issued(): boolean {
    return this.#config.signer !== null;
  }

  /** A fresh credential for `member` as the source sees it now; undefined without a key. */
  issue(member: Member): Uint8Array | undefined {
    const signer = this.#config.signer;
    if (signer === null) return undefined;
    const lifetimeChunks = Math.ceil(
      this.#config.credentialLifetimeMillis / this.#chunker.chunkIntervalMillis(),
    );
    const expiresAt = (this.#chunker.nextChunkNumber() + lifetimeChunks) >>> 0;
    this.#context.stats.credentialsIssued++;
    return signCredential(signer, toMemberInfo(member), expiresAt);
  }
}
