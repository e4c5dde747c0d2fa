import type { StreamHeaderSplitter } from '../core/source-config.js';
import type { PacedPiece, StreamPacer } from './ingest-file.js';

/**
 * The runtime's view of @p2psp/media.
 * TODO(media): switch to detectMediaType / createHeaderCapture / createPacer from
 * @p2psp/media once it lands; these stand-ins only read the Content-Type, the extension and
 * the magic bytes, capture no header, and pace at a constant bit rate.
 */
const EXTENSIONS: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  aac: 'audio/aac',
};

export function detectType(hint: {
  readonly contentType: string | null;
  readonly fileName: string | null;
  readonly head: Uint8Array;
}): string | null {
  if (hint.contentType && /^(audio|video)\/|^application\/ogg/i.test(hint.contentType)) {
    return hint.contentType;
  }
  const head = Buffer.from(hint.head.subarray(0, 4));
  if (head.toString('latin1') === 'OggS') return 'audio/ogg';
  if (head.toString('latin1', 0, 3) === 'ID3') return 'audio/mpeg';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'video/webm';
  if (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0) return 'audio/mpeg';
  const extension = hint.fileName?.split('.').at(-1)?.toLowerCase();
  return (extension && EXTENSIONS[extension]) || null;
}

export function createHeaderSplitter(_mediaType: string): StreamHeaderSplitter | null {
  return null;
}

/** Whether the pacer can read timing from the container itself (no --bitrate needed). */
export function hasOwnTiming(_mediaType: string): boolean {
  return false;
}

export function createStreamPacer(_mediaType: string, bitrate: number): StreamPacer {
  let sent = 0;
  return {
    *push(bytes: Uint8Array): Iterable<PacedPiece> {
      for (let offset = 0; offset < bytes.byteLength; offset += 1024) {
        const piece = bytes.subarray(offset, Math.min(offset + 1024, bytes.byteLength));
        yield { bytes: piece, mediaTimeMicros: Math.round((sent * 8 * 1e6) / bitrate) };
        sent += piece.byteLength;
      }
    },
  };
}
