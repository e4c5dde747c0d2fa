import { createPacer, detectMediaType, type MediaKind, type Pacer } from '@p2psp/media';
import { SourceRuntimeError } from './errors.js';

/** The runtime's view of @p2psp/media: what the stream is and how a file is paced. */
export interface StreamType {
  readonly kind: MediaKind;
  /** The Content-Type announced to peers and served to players. */
  readonly mimeType: string;
}

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

/** A pacer for a file input; throws the media package's error (it names --bitrate). */
export function createStreamPacer(
  kind: MediaKind,
  options: { readonly bitrate?: number | undefined; readonly loop?: boolean | undefined },
): Pacer {
  // Its `header` pieces are the header late joiners get: the core takes them as they are.
  const created = createPacer(kind, {
    bitrate: options.bitrate,
    loop: options.loop,
    lateJoinerHeader: true,
  });
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
