import { createHeaderCapture, detectMediaType, type HeaderCapture } from '@p2psp/media';

/**
 * Watches the played bytes for a stream header that starts in them: after the source's
 * ingest reconnected, the stream goes on with a new logical stream (an Icecast mount that
 * restarted sends new Ogg BOS pages with new serial numbers, or a new WebM EBML header), and
 * a player that connects from then on needs that header, not the one given on join.
 */
export interface StreamHeaderWatcher {
  /** Feeds the played bytes in order; returns the header that completed in them, or null. */
  push(bytes: Uint8Array): Uint8Array | null;
  /** A gap in the played bytes (a lost chunk): a header in progress is abandoned. */
  reset(): void;
}

/** Header pages past this are not a header a player could use (the source's limit is 1 MiB). */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * Where a header may begin: an Ogg page with the beginning-of-stream flag ("OggS", version 0,
 * header type bit 0x02; RFC 3533 section 6), or the EBML header ID 1A 45 DF A3 (RFC 8794
 * section 11.2.1). A chance match in media data is ruled out by the header capture (the
 * Ogg page CRC, the EBML structure up to a Cluster).
 */
interface HeaderStart {
  readonly length: number;
  matches(bytes: Uint8Array, offset: number): boolean;
}

/** True when `magic` stands at `offset` (false where it runs past the end). */
const magicAt = (bytes: Uint8Array, offset: number, magic: readonly number[]): boolean =>
  magic.every((byte, index) => bytes[offset + index] === byte);

const OGG_BOS: HeaderStart = {
  length: 6,
  matches: (bytes, offset) =>
    magicAt(bytes, offset, [0x4f, 0x67, 0x67, 0x53, 0]) && ((bytes[offset + 5] ?? 0) & 0x02) !== 0,
};

const EBML_HEADER: HeaderStart = {
  length: 4,
  matches: (bytes, offset) => magicAt(bytes, offset, [0x1a, 0x45, 0xdf, 0xa3]),
};

/**
 * A watcher for the stream's media type (Ogg, WebM), or null for streams whose header is
 * empty (MP3, ADTS) or unknown. Uses @p2psp/media's header capture, so it finds the same
 * header the source would capture from the start of that stream.
 */
export function createStreamHeaderWatcher(mediaType: string): StreamHeaderWatcher | null {
  const kind = detectMediaType({ contentType: mediaType }).kind;
  if (kind === 'ogg') return new HeaderWatcher('ogg', OGG_BOS);
  if (kind === 'webm') return new HeaderWatcher('webm', EBML_HEADER);
  return null;
}

class HeaderWatcher implements StreamHeaderWatcher {
  /** Bytes from the candidate start (while capturing), or the last few bytes scanned. */
  private held: Uint8Array = new Uint8Array(0);
  private capture: HeaderCapture | null = null;

  constructor(
    private readonly kind: 'ogg' | 'webm',
    private readonly start: HeaderStart,
  ) {}

  push(bytes: Uint8Array): Uint8Array | null {
    this.held = Buffer.concat([this.held, bytes]);
    let found: Uint8Array | null = null;
    let fresh: Uint8Array | null = this.capture === null ? null : bytes;
    for (;;) {
      if (this.capture === null) {
        const offset = this.findStart();
        if (offset < 0) {
          // Keep a tail that may be the beginning of a header start cut by the chunk edge.
          this.held = this.held.subarray(Math.max(0, this.held.length - (this.start.length - 1)));
          return found;
        }
        this.held = this.held.subarray(offset);
        this.capture = createHeaderCapture(this.kind, { maxHeaderBytes: MAX_HEADER_BYTES });
        fresh = this.held;
      }
      const status = this.capture.push(fresh ?? new Uint8Array(0));
      if (status === 'need-more') {
        // A chance match claiming a huge page or element: give up on it.
        if (this.held.length <= 2 * MAX_HEADER_BYTES) return found;
        this.abandonCandidate();
      } else if (status === 'complete') {
        found = this.capture.header;
        this.held = this.held.subarray(this.capture.dataOffset);
        this.capture = null;
      } else {
        this.abandonCandidate();
      }
    }
  }

  reset(): void {
    this.held = new Uint8Array(0);
    this.capture = null;
  }

  /** Not a header after all: look again from the byte after its start. */
  private abandonCandidate(): void {
    this.held = this.held.subarray(1);
    this.capture = null;
  }

  private findStart(): number {
    const first = this.kind === 'ogg' ? 0x4f : 0x1a;
    for (let offset = this.held.indexOf(first); offset >= 0; ) {
      if (offset + this.start.length > this.held.length) return -1;
      if (this.start.matches(this.held, offset)) return offset;
      offset = this.held.indexOf(first, offset + 1);
    }
    return -1;
  }
}
