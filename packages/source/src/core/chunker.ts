import { concatBytes } from '@p2psp/media';
import { type Instant, nextChunkNumber } from '@p2psp/wire';
import { ChunkSigning } from './chunk-signing.js';
import { IngestRate } from './ingest-rate.js';
import type { ResolvedSourceConfig, StreamHeaderSplitter } from './source-config.js';
import type { SourceContext } from './source-context.js';
import { createHeaderSplitter } from './stream-header-splitter.js';

const EMPTY = new Uint8Array(0);

/** What the chunker hands on: each chunk cut (rule 1), and the header once it is complete. */
export interface ChunkerOutputs {
  /** `trailer`: the signed digest this chunk carries (signed chunks), else empty. */
  chunk(chunkNumber: number, payload: Uint8Array, trailer: Uint8Array): void;
  headerComplete(now: Instant): void;
}

/**
 * Ingest to chunks (rule 1): measures the ingest rate, captures the stream header (rule 4:
 * a late joiner's player needs it before any chunk), cuts the media that follows into
 * numbered `chunkSize` payloads, and keeps the last B of them for LRS resends.
 */
export class Chunker {
  readonly #context: SourceContext;
  readonly #config: ResolvedSourceConfig;
  readonly #outputs: ChunkerOutputs;
  readonly #rate: IngestRate;

  /** Finds the header in untagged ingest bytes; null when there is none to find. */
  readonly #splitter: StreamHeaderSplitter | null;
  /** The header, or null while it is being captured. */
  #header: Uint8Array | null;
  /** Header pieces the ingest tagged, until its first media piece completes the header. */
  #taggedHeader: Uint8Array[] = [];
  /** Capturing the header of a reconnected ingest: it also goes out as chunk data. */
  #headerRecapture = false;

  #chunk: Uint8Array;
  #chunkFill = 0;
  #nextChunkNumber = 0;
  /** Payloads of the last B chunks, for LRS resends (slot chunkNumber mod B). */
  readonly #recentPayloads: (Uint8Array | undefined)[];
  readonly #recentNumbers: Float64Array;
  /** Signed chunks: the digests of runs of chunks, or null when the source signs nothing. */
  readonly #signing: ChunkSigning | null;

  constructor(context: SourceContext, config: ResolvedSourceConfig, outputs: ChunkerOutputs) {
    this.#context = context;
    this.#config = config;
    this.#outputs = outputs;
    this.#rate = new IngestRate(config.rateWindowMillis, config.initialChunkIntervalMillis);
    this.#chunk = new Uint8Array(config.chunkSize);
    this.#recentPayloads = new Array<Uint8Array | undefined>(config.bufferSize).fill(undefined);
    this.#recentNumbers = new Float64Array(config.bufferSize).fill(-1);
    this.#signing =
      config.signer === null || config.sha256 === null
        ? null
        : new ChunkSigning(
            { signer: config.signer, sha256: config.sha256 },
            config.digestChunks,
            config.bufferSize,
          );
    const header = config.header;
    if (header === null) {
      this.#splitter = null;
      this.#header = EMPTY;
    } else if ('capture' in header) {
      this.#splitter = createHeaderSplitter(header.capture);
      this.#header = this.#splitter === null ? EMPTY : null;
    } else if ('splitter' in header) {
      this.#splitter = header.splitter;
      this.#header = header.splitter.header;
    } else {
      this.#splitter = null;
      this.#header = header.header;
    }
  }

  /** The stream header, or null while it is still being captured from the ingest. */
  header(): Uint8Array | null {
    return this.#header;
  }

  /** The current chunk interval estimate, from the ingest rate. */
  chunkIntervalMillis(): number {
    return this.#rate.chunkIntervalMillis(this.#config.chunkSize);
  }

  /** The number the next chunk will carry. */
  nextChunkNumber(): number {
    return this.#nextChunkNumber;
  }

  /** LRS: the payload of chunk `chunkNumber`, if it is among the last B cut. */
  recent(chunkNumber: number): Uint8Array | undefined {
    const slot = chunkNumber % this.#config.bufferSize;
    return this.#recentNumbers[slot] === chunkNumber ? this.#recentPayloads[slot] : undefined;
  }

  /** The signed digest that covers chunk `chunkNumber` (LRS resends carry it), or empty. */
  trailerFor(chunkNumber: number): Uint8Array {
    return this.#signing?.trailerFor(chunkNumber) ?? EMPTY;
  }

  /**
   * Ingest bytes, in order. While the header is being captured the media is held back:
   * chunks only carry what follows it. `role` is the ingest's own tag (a file's pacer found
   * the header already): its `header` pieces are the header, its first `media` piece
   * completes it. Untagged bytes go through the splitter.
   */
  ingest(bytes: Uint8Array, role: 'header' | 'media' | undefined, now: Instant): void {
    this.#context.stats.bytesIngested += bytes.length;
    this.#rate.add(now, bytes.length);
    let media = bytes;
    if (this.#header === null) {
      let header: Uint8Array | null;
      if (role === 'header') {
        this.#taggedHeader.push(bytes);
        return;
      }
      if (role === 'media') {
        header = concatBytes(this.#taggedHeader);
        this.#taggedHeader = [];
      } else {
        const splitter = this.#splitter as StreamHeaderSplitter;
        media = splitter.push(bytes);
        header = splitter.header;
        if (header === null) return;
      }
      this.#header = header;
      if (this.#headerRecapture) {
        this.#headerRecapture = false;
        this.#context.emit({
          name: 'header-capture',
          level: 'info',
          fields: { bytes: header.length, restart: true },
        });
        // Players already playing need the new stream's header too, in order, as data: for
        // Ogg that makes a chained stream (RFC 3533 section 4: new BOS pages after the old).
        if (header.length > 0) media = concatBytes([header, media]);
      } else {
        this.#context.emit({
          name: 'header-capture',
          level: 'info',
          fields: { bytes: header.length },
        });
      }
      this.#outputs.headerComplete(now);
    }
    let offset = 0;
    while (offset < media.length) {
      const take = Math.min(this.#config.chunkSize - this.#chunkFill, media.length - offset);
      this.#chunk.set(media.subarray(offset, offset + take), this.#chunkFill);
      this.#chunkFill += take;
      offset += take;
      if (this.#chunkFill === this.#config.chunkSize) this.#cut();
    }
  }

  /**
   * The ingest reconnected: its next bytes start a new stream (an Icecast mount restarted
   * sends new Ogg header pages, with new serial numbers). Joins wait for its header, so a
   * late joiner's player never gets the old header before the new stream's pages.
   */
  restart(reason: string): void {
    this.#context.emit({ name: 'ingest-restart', level: 'info', fields: { reason } });
    if (this.#splitter?.restart === undefined) return;
    this.#splitter.restart();
    // Only a header already handed out must also reach the players as data.
    if (this.#header !== null) this.#headerRecapture = true;
    this.#header = null;
    this.#taggedHeader = [];
  }

  /**
   * The stream ended: the partial last chunk is part of it. A stream that ends on a chunk
   * boundary with a run of signed chunks open gets an empty last chunk, whose trailer signs
   * that run: else peers could never verify, relay or play its chunks.
   */
  flush(): void {
    if (this.#chunkFill > 0 || this.#signing?.runOpen === true) this.#cut(true);
  }

  /** `last`: the stream ends, so the open run of signed chunks closes here. */
  #cut(last = false): void {
    const payload = this.#chunk.subarray(0, this.#chunkFill);
    const chunkNumber = this.#nextChunkNumber;
    this.#nextChunkNumber = nextChunkNumber(chunkNumber);
    this.#context.stats.chunksCut++;
    this.#chunk = new Uint8Array(this.#config.chunkSize);
    this.#chunkFill = 0;
    const slot = chunkNumber % this.#config.bufferSize;
    this.#recentPayloads[slot] = payload;
    this.#recentNumbers[slot] = chunkNumber;
    const trailer = this.#signing?.cut(chunkNumber, payload, last) ?? EMPTY;
    this.#outputs.chunk(chunkNumber, payload, trailer);
  }
}
