import { ADTS, type AudioFrameFormat, checkConfirmedFrame, MPEG_AUDIO } from './audio-frames.js';
import { matchesAt } from './bytes.js';
import { CLUSTER_ID, DOCTYPE_ID, readElementSize } from './ebml.js';
import { id3v2TagLength } from './id3.js';
import { OGG_CAPTURE_PATTERN, parseOggPage } from './ogg.js';

/** The containers this package understands. */
export type MediaKind = 'ogg' | 'webm' | 'mp3' | 'aac-adts' | 'unknown';

export interface MediaTypeHints {
  /** The Content-Type of an HTTP response (parameters are ignored). */
  readonly contentType?: string | undefined;
  /** A file name or URL path; only the extension is used. */
  readonly fileName?: string | undefined;
  /** The first bytes of the stream (a few KB is plenty; more makes MP3/ADTS sniffing surer). */
  readonly firstBytes?: Uint8Array | undefined;
}

export interface DetectedMediaType {
  readonly kind: MediaKind;
  /** The Content-Type to serve to players. */
  readonly mimeType: string;
  /** What decided: the bytes win over the Content-Type, which wins over the extension. */
  readonly decidedBy: 'bytes' | 'content-type' | 'file-name' | 'none';
  /** True when the Content-Type or extension named another kind than the bytes. */
  readonly hintsDisagree: boolean;
}

const DEFAULT_MIME_TYPES: Record<MediaKind, string> = {
  ogg: 'audio/ogg',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  'aac-adts': 'audio/aac',
  unknown: 'application/octet-stream',
};

/** The Content-Type served for a kind when nothing more specific is known. */
export function mimeTypeOf(kind: MediaKind): string {
  return DEFAULT_MIME_TYPES[kind];
}

const CONTENT_TYPES: Record<string, MediaKind> = {
  'audio/ogg': 'ogg',
  'video/ogg': 'ogg',
  'application/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/vorbis': 'ogg',
  'audio/x-ogg': 'ogg',
  'video/webm': 'webm',
  'audio/webm': 'webm',
  'video/x-matroska': 'webm',
  'audio/x-matroska': 'webm',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/x-mpeg': 'mp3',
  'audio/mpeg3': 'mp3',
  'audio/x-mp3': 'mp3',
  'audio/aac': 'aac-adts',
  'audio/aacp': 'aac-adts',
  'audio/x-aac': 'aac-adts',
  'audio/vnd.dlna.adts': 'aac-adts',
};

const EXTENSIONS: Record<string, MediaKind> = {
  ogg: 'ogg',
  oga: 'ogg',
  ogv: 'ogg',
  opus: 'ogg',
  spx: 'ogg',
  webm: 'webm',
  mkv: 'webm',
  mka: 'webm',
  mp3: 'mp3',
  mp2: 'mp3',
  mpga: 'mp3',
  aac: 'aac-adts',
  adts: 'aac-adts',
};

/**
 * Detects the container and the MIME type to serve. The bytes decide when they are
 * recognisable (a server's Content-Type or a file's extension is often wrong, e.g.
 * `application/octet-stream` or `.ogg` holding MP3); otherwise the Content-Type, then the
 * extension. `unknown` when nothing matches: the caller can still stream with a bit rate.
 */
export function detectMediaType(hints: MediaTypeHints): DetectedMediaType {
  const fromContentType = kindFromContentType(hints.contentType);
  const fromFileName = kindFromFileName(hints.fileName);
  const sniffed = hints.firstBytes === undefined ? undefined : sniffMediaType(hints.firstBytes);
  if (sniffed !== undefined) {
    const hinted = fromContentType ?? fromFileName;
    return {
      ...sniffed,
      decidedBy: 'bytes',
      hintsDisagree: hinted !== undefined && hinted !== sniffed.kind,
    };
  }
  if (fromContentType !== undefined) {
    const mimeType = hints.contentType!.split(';')[0]!.trim().toLowerCase();
    return {
      kind: fromContentType,
      mimeType:
        fromContentType === 'ogg' || fromContentType === 'webm'
          ? mimeType
          : mimeTypeOf(fromContentType),
      decidedBy: 'content-type',
      hintsDisagree: fromFileName !== undefined && fromFileName !== fromContentType,
    };
  }
  if (fromFileName !== undefined) {
    return {
      kind: fromFileName,
      mimeType: mimeTypeOf(fromFileName),
      decidedBy: 'file-name',
      hintsDisagree: false,
    };
  }
  return {
    kind: 'unknown',
    mimeType: mimeTypeOf('unknown'),
    decidedBy: 'none',
    hintsDisagree: false,
  };
}

function kindFromContentType(contentType: string | undefined): MediaKind | undefined {
  if (contentType === undefined) return undefined;
  return CONTENT_TYPES[contentType.split(';')[0]!.trim().toLowerCase()];
}

function kindFromFileName(fileName: string | undefined): MediaKind | undefined {
  if (fileName === undefined) return undefined;
  const path = fileName.split(/[?#]/)[0]!;
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  return EXTENSIONS[path.slice(dot + 1).toLowerCase()];
}

const THEORA_BOS = [0x80, 0x74, 0x68, 0x65, 0x6f, 0x72, 0x61]; // 0x80 "theora"
const MATROSKA = [0x6d, 0x61, 0x74, 0x72, 0x6f, 0x73, 0x6b, 0x61]; // "matroska"

/** Recognises a container from its first bytes, or undefined. */
function sniffMediaType(bytes: Uint8Array): { kind: MediaKind; mimeType: string } | undefined {
  if (matchesAt(bytes, 0, OGG_CAPTURE_PATTERN)) {
    const parsed = parseOggPage(bytes, 0);
    // A Theora BOS page means video (RFC 5334 section 10: video/ogg).
    const isVideo =
      parsed.status === 'page' && matchesAt(bytes, parsed.page.bodyOffset, THEORA_BOS);
    return { kind: 'ogg', mimeType: isVideo ? 'video/ogg' : 'audio/ogg' };
  }
  if (matchesAt(bytes, 0, [0x1a, 0x45, 0xdf, 0xa3])) {
    // DocType "matroska" (vs "webm") inside the EBML header, RFC 9559 section 5.1.1.
    const isMatroska = findSequence(bytes, [DOCTYPE_ID >> 8, DOCTYPE_ID & 0xff], 64, (at) => {
      const size = readElementSize(bytes, at + 2);
      return size.status === 'value' && matchesAt(bytes, at + 2 + size.length, MATROSKA);
    });
    return { kind: 'webm', mimeType: isMatroska ? 'video/x-matroska' : 'video/webm' };
  }
  let start = 0;
  const tagLength = id3v2TagLength(bytes, 0);
  if (tagLength === undefined) return undefined;
  if (tagLength > 0) {
    // An ID3v2 tag almost always precedes MP3; look past it when we have the bytes.
    if (tagLength >= bytes.length) return { kind: 'mp3', mimeType: mimeTypeOf('mp3') };
    start = tagLength;
  }
  // Frame sync confirmed by a second frame header (see checkConfirmedFrame). Search a little
  // past the start: HTTP streams may begin mid-frame.
  const searchEnd = Math.min(bytes.length, start + 8192);
  for (let offset = start; offset < searchEnd; offset++) {
    if (bytes[offset] !== 0xff) continue;
    // Off the start, two frames in a row can happen by chance in a few KB of other data:
    // want a third when the bytes hold it.
    const strict = offset !== start;
    if (framesInARow(MPEG_AUDIO, bytes, offset, strict)) {
      return { kind: 'mp3', mimeType: mimeTypeOf('mp3') };
    }
    if (framesInARow(ADTS, bytes, offset, strict)) {
      return { kind: 'aac-adts', mimeType: mimeTypeOf('aac-adts') };
    }
  }
  if (tagLength > 0) return { kind: 'mp3', mimeType: mimeTypeOf('mp3') };
  // Ogg and WebM streams joined mid-way: a valid Ogg page or a Cluster.
  const oggAt = findSequence(
    bytes,
    OGG_CAPTURE_PATTERN,
    bytes.length,
    (at) => parseOggPage(bytes, at).status === 'page',
  );
  if (oggAt) return { kind: 'ogg', mimeType: mimeTypeOf('ogg') };
  const clusterId = [
    CLUSTER_ID >>> 24,
    (CLUSTER_ID >> 16) & 0xff,
    (CLUSTER_ID >> 8) & 0xff,
    CLUSTER_ID & 0xff,
  ];
  if (findSequence(bytes, clusterId, bytes.length, () => true))
    return { kind: 'webm', mimeType: mimeTypeOf('webm') };
  return undefined;
}

function framesInARow(
  format: AudioFrameFormat,
  bytes: Uint8Array,
  offset: number,
  wantThird: boolean,
): boolean {
  const first = checkConfirmedFrame(format, bytes, offset);
  if (first.status !== 'frame') return false;
  if (!wantThird) return true;
  const second = checkConfirmedFrame(format, bytes, offset + first.header.length);
  return second.status !== 'invalid';
}

function findSequence(
  bytes: Uint8Array,
  pattern: readonly number[],
  limit: number,
  accept: (offset: number) => boolean,
): boolean {
  const end = Math.min(bytes.length, limit);
  for (let offset = 0; offset + pattern.length <= end; offset++) {
    if (matchesAt(bytes, offset, pattern) && accept(offset)) return true;
  }
  return false;
}
