import {
  createHeaderCapture,
  createPacer,
  detectMediaType,
  type MediaKind,
  type Pacer,
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
 */
export function createHeaderSplitter(kind: MediaKind): StreamHeaderSplitter | null {
  if (kind === 'unknown') return null;
  const capture = createHeaderCapture(kind);
  let held: Uint8Array[] = [];
  let done = false;
  return {
    push(bytes: Uint8Array): Uint8Array {
      if (done) return bytes;
      held.push(bytes);
      const status = capture.push(bytes);
      if (status === 'need-more') return EMPTY;
      done = true;
      const all = Buffer.concat(held);
      held = [];
      return status === 'complete' ? all.subarray(capture.dataOffset) : all;
    },
    get header(): Uint8Array | null {
      if (!done) return null;
      return capture.status === 'complete' ? capture.header : EMPTY;
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
