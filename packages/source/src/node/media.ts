import {
  createHeaderCapture,
  createPacer,
  createSyncScanner,
  detectMediaType,
  type MediaKind,
  type Pacer,
  type SyncScanner,
} from '@p2psp/media';
import type { StreamHeaderSplitter } from '../core/source-config.js';
import { SourceRuntimeError } from './errors.js';

/** The runtime's view of @p2psp/media: what the stream is, its header, its pacing. */
export interface StreamType {
  readonly kind: MediaKind;
  /** The Content-Type announced to peers and served to players. */
  readonly mimeType: string;
}

const EMPTY = new Uint8Array(0);

/**
 * Detects the media type from the bytes, the Content-Type and the file name (the bytes
 * win). A stream of an unknown container is still accepted when the server called it
 * audio/video (it will be relayed as is), else it is null: not media.
 */
export function detectStreamType(hint: {
  readonly contentType: string | null;
  readonly fileName: string | null;
  readonly head: Uint8Array;
  readonly forced?: string | undefined;
}): StreamType | null {
  if (hint.forced !== undefined) {
    return { kind: detectMediaType({ contentType: hint.forced }).kind, mimeType: hint.forced };
  }
  const detected = detectMediaType({
    contentType: hint.contentType ?? undefined,
    fileName: hint.fileName ?? undefined,
    firstBytes: hint.head,
  });
  if (detected.kind !== 'unknown') return { kind: detected.kind, mimeType: detected.mimeType };
  if (hint.contentType && /^(audio|video)\//i.test(hint.contentType)) {
    return { kind: 'unknown', mimeType: hint.contentType };
  }
  return null;
}

/**
 * Adapts @p2psp/media's header capture to the core's `StreamHeaderSplitter`: holds the
 * first bytes until the header (Ogg header pages, WebM init segment, or the ID3 tag to skip
 * for MP3) is complete, then passes the media after it. A header that cannot be captured
 * (too large, malformed) leaves the stream untouched with no header.
 *
 * After `restart` (the ingest reconnected) the new connection's header is captured the same
 * way, and its media starts at its first sync point (@p2psp/media's sync scanner): an HTTP
 * server may start a new connection mid-frame (Icecast sends MP3 from its burst buffer),
 * and a partial frame would reach every player. If the new connection has no header of its
 * own (it resumed the same stream mid-way), the previous header stays.
 */
export function createHeaderSplitter(kind: MediaKind): StreamHeaderSplitter | null {
  if (kind === 'unknown') return null;
  let capture = createHeaderCapture(kind);
  let previousHeader: Uint8Array | null = null;
  /** After a restart, the scanner that finds where the new connection's media may start. */
  let scanner: SyncScanner | null = null;
  let held: Uint8Array[] = [];
  let done = false;
  let header: Uint8Array | null = null;
  const finish = (media: Uint8Array): Uint8Array => {
    done = true;
    scanner = null;
    return media;
  };
  return {
    push(bytes: Uint8Array): Uint8Array {
      if (done) return bytes;
      held.push(bytes);
      if (scanner !== null) {
        const offset = scanner.push(bytes);
        if (offset < 0) return EMPTY;
        const all = Buffer.concat(held);
        held = [];
        return finish(all.subarray(offset));
      }
      const status = capture.push(bytes);
      if (status === 'need-more') return EMPTY;
      const all = Buffer.concat(held);
      held = [];
      let media: Uint8Array = all;
      if (status === 'complete' && (capture.header.length > 0 || previousHeader === null)) {
        header = capture.header;
        media = all.subarray(capture.dataOffset);
      } else {
        // No header of its own: keep the one players have (none on the first connection).
        header = previousHeader ?? EMPTY;
        if (status === 'complete') media = all.subarray(capture.dataOffset);
      }
      if (previousHeader === null) return finish(media);
      // A restart: hold the media back until its first sync point.
      scanner = createSyncScanner(kind);
      held = [media];
      const offset = scanner.push(media);
      if (offset < 0) return EMPTY;
      held = [];
      return finish(media.subarray(offset));
    },
    get header(): Uint8Array | null {
      return done ? header : null;
    },
    restart(): void {
      previousHeader = done ? (header ?? EMPTY) : (previousHeader ?? EMPTY);
      capture = createHeaderCapture(kind);
      scanner = null;
      held = [];
      done = false;
    },
  };
}

/** A pacer for a file input; throws the media package's error (it names --bitrate). */
export function createStreamPacer(
  kind: MediaKind,
  options: { readonly bitrate?: number | undefined; readonly loop?: boolean | undefined },
): Pacer {
  const created = createPacer(kind, { bitrate: options.bitrate, loop: options.loop });
  if (!created.ok) {
    throw new SourceRuntimeError(
      created.error.code === 'P2PSP_ERR_MEDIA_BITRATE_REQUIRED'
        ? 'P2PSP_ERR_BITRATE_NEEDED'
        : 'P2PSP_ERR_BAD_OPTION',
      `--input: ${created.error.message}`,
    );
  }
  return created.pacer;
}
