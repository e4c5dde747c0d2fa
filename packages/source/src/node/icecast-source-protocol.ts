import { timingSafeEqual } from 'node:crypto';
import type { StreamInfo } from '@p2psp/wire';

// The server side of the Icecast source protocol, as Icecast 2.4 speaks it
// (src/connection.c and src/source.c of Icecast-Server v2.4.4): a source client sends
// `PUT /mount HTTP/1.1` (Icecast >= 2.4) or the legacy `SOURCE /mount HTTP/1.0`, Basic auth
// with user `source`, a Content-Type, and its stream details in `ice-*` headers; then the
// body is the live stream. Pure: the socket work is in ingest-push.ts.

/** A request head as a source client sent it; header names are lower case. */
export interface SourceRequestHead {
  readonly method: string;
  /** The path without its query (`/live.mp3`). */
  readonly path: string;
  /** The query's parameters (`/admin/metadata?mode=updinfo&song=...`). */
  readonly query: URLSearchParams;
  readonly version: string;
  readonly headers: ReadonlyMap<string, string>;
}

export type SourceHeadParse =
  | { readonly status: 'need-more' }
  | { readonly status: 'head'; readonly head: SourceRequestHead; readonly bodyOffset: number }
  | { readonly status: 'too-large' }
  | { readonly status: 'invalid'; readonly reason: string };

/** Icecast reads a source's request into one 4 KiB buffer; 8 KiB leaves room for long ice-* values. */
export const MAX_SOURCE_HEAD_BYTES = 8192;

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const LF_LF = Buffer.from('\n\n');

/**
 * Parses a request head (RFC 9112 section 2.1: request line, header fields, empty line).
 * Bare LF line ends are accepted (section 2.2 allows it; old encoders send them).
 */
export function parseSourceRequestHead(
  bytes: Uint8Array,
  maxBytes = MAX_SOURCE_HEAD_BYTES,
): SourceHeadParse {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limit = Math.min(buffer.byteLength, maxBytes);
  const window = buffer.subarray(0, limit);
  const crlf = window.indexOf(CRLF_CRLF);
  const lf = window.indexOf(LF_LF);
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
  if (end < 0)
    return buffer.byteLength >= maxBytes ? { status: 'too-large' } : { status: 'need-more' };
  const lines = buffer.subarray(0, end).toString('latin1').split(/\r?\n/);
  const requestLine = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? '');
  if (!requestLine) return { status: 'invalid', reason: 'not an HTTP/1.x request line' };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { status: 'invalid', reason: `malformed header line '${line}'` };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    status: 'head',
    head: {
      method: requestLine[1]!,
      path: requestLine[2]!.split('?')[0]!,
      query: new URLSearchParams(requestLine[2]!.split('?')[1] ?? ''),
      version: requestLine[3]!,
      headers,
    },
    bodyOffset: end,
  };
}

/** The stream details a source client announces in its `ice-*` headers (Icecast's names). */
export interface IcecastStreamInfo {
  readonly name: string | null;
  readonly description: string | null;
  readonly url: string | null;
  readonly genre: string | null;
  /** kbit/s, as `ice-bitrate` gives it. */
  readonly bitrate: number | null;
  /** `ice-public: 1`: the radio wants the stream listed in directories. */
  readonly public: boolean | null;
  /** `ice-audio-info: ice-samplerate=44100;ice-bitrate=128;ice-channels=2`, as pairs. */
  readonly audioInfo: Readonly<Record<string, string>>;
}

export const NO_STREAM_INFO: IcecastStreamInfo = {
  name: null,
  description: null,
  url: null,
  genre: null,
  bitrate: null,
  public: null,
  audioInfo: {},
};

/** What the cluster carries of it (`stream-metadata`): empty and 0 where not announced. */
export function clusterStreamInfo(info: IcecastStreamInfo): StreamInfo {
  return {
    name: info.name ?? '',
    description: info.description ?? '',
    genre: info.genre ?? '',
    url: info.url ?? '',
    // Liquidsoap and butt send the rate only in ice-audio-info (`bitrate=128`).
    bitrate: info.bitrate ?? (Number.parseInt(info.audioInfo.bitrate ?? '', 10) || 0),
  };
}

function parseAudioInfo(text: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const pair of (text ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    // Icecast decodes each value (src/source.c _parse_audio_info); names stay as sent.
    const name = pair.slice(0, equals).trim();
    const raw = pair.slice(equals + 1).trim();
    try {
      pairs[name] = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      pairs[name] = raw;
    }
  }
  return pairs;
}

/** Each field's headers, in Icecast's order of preference (src/source.c, v2.4.4). */
const INFO_HEADERS = {
  name: ['ice-name', 'icy-name', 'x-audiocast-name'],
  description: ['ice-description', 'icy-description', 'x-audiocast-description'],
  url: ['ice-url', 'icy-url', 'x-audiocast-url'],
  genre: ['ice-genre', 'icy-genre', 'x-audiocast-genre'],
  bitrate: ['ice-bitrate', 'icy-br', 'x-audiocast-bitrate'],
  public: ['ice-public', 'icy-pub', 'x-audiocast-public', 'icy-public'],
} as const;

/** Reads the stream details from a source's headers, as Icecast does. */
export function streamInfoOf(headers: ReadonlyMap<string, string>): IcecastStreamInfo {
  const field = (names: readonly string[]): string | null => {
    for (const name of names) {
      const value = headers.get(name);
      if (value !== undefined) return value;
    }
    return null;
  };
  const bitrate = Number.parseInt(field(INFO_HEADERS.bitrate) ?? '', 10);
  const publicFlag = field(INFO_HEADERS.public);
  return {
    name: field(INFO_HEADERS.name),
    description: field(INFO_HEADERS.description),
    url: field(INFO_HEADERS.url),
    genre: field(INFO_HEADERS.genre),
    bitrate: Number.isFinite(bitrate) && bitrate > 0 ? bitrate : null,
    public: publicFlag === null ? null : publicFlag.trim() === '1',
    audioInfo: parseAudioInfo(headers.get('ice-audio-info')),
  };
}

/** How the body of an admitted source request is framed (RFC 9112 section 6.3). */
export type SourceBodyFraming =
  | { readonly kind: 'until-close' }
  | { readonly kind: 'length'; readonly bytes: number }
  | { readonly kind: 'chunked' };

export type SourceAdmission =
  | {
      readonly ok: true;
      readonly contentType: string;
      readonly info: IcecastStreamInfo;
      /** `Expect: 100-continue`: answer `100 Continue` before the stream (RFC 9110 10.1.1). */
      readonly expectContinue: boolean;
      readonly framing: SourceBodyFraming;
    }
  | {
      readonly ok: false;
      readonly status: 400 | 401 | 403 | 404 | 405;
      /** The body of the answer; Icecast's own wording where Icecast has one. */
      readonly message: string;
    };

export interface SourceMount {
  /** `/live.mp3`. */
  readonly mount: string;
  readonly password: string;
  /** A source client is streaming to the mount. */
  readonly inUse: boolean;
  /** Null when the cluster can carry this Content-Type, else the problem, for the client. */
  checkContentType(contentType: string): string | null;
}

function passwordMatches(authorization: string | undefined, password: string): boolean {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!basic) return false;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== 'source') return false;
  const given = Buffer.from(decoded.slice(colon + 1));
  const expected = Buffer.from(password);
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
}

/**
 * Decides a source request the way Icecast 2.4 does, in its order: the method, the
 * password (401), the mount (404, p2psp has one), a mount in use (403 "Mountpoint in use"),
 * then the Content-Type (403). Icecast 2.4 still takes a legacy SOURCE with no
 * Content-Type as MP3 ("deprecated ... will NOT work with future Icecast versions"):
 * here it is required for both methods, so a stream is never guessed.
 */
export function admitSourceRequest(head: SourceRequestHead, mount: SourceMount): SourceAdmission {
  if (head.method !== 'PUT' && head.method !== 'SOURCE') {
    return {
      ok: false,
      status: 405,
      message: `This port takes Icecast source clients (PUT or SOURCE ${mount.mount}); listeners play from a p2psp peer.`,
    };
  }
  if (!passwordMatches(head.headers.get('authorization'), mount.password)) {
    return { ok: false, status: 401, message: 'You need to authenticate' };
  }
  if (head.path !== mount.mount) {
    return {
      ok: false,
      status: 404,
      message: `Mountpoint ${head.path} not found: this p2psp source takes ${mount.mount}`,
    };
  }
  if (mount.inUse) return { ok: false, status: 403, message: 'Mountpoint in use' };
  const contentType = head.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (!contentType) return { ok: false, status: 403, message: 'No Content-type given' };
  const problem = mount.checkContentType(contentType);
  if (problem !== null) return { ok: false, status: 403, message: problem };
  const transferEncoding = head.headers.get('transfer-encoding')?.toLowerCase();
  const contentLength = head.headers.get('content-length');
  let framing: SourceBodyFraming = { kind: 'until-close' };
  if (transferEncoding !== undefined) {
    if (transferEncoding !== 'chunked') {
      return {
        ok: false,
        status: 400,
        message: `Transfer-Encoding ${transferEncoding} is not supported; send chunked or no Transfer-Encoding`,
      };
    }
    framing = { kind: 'chunked' };
  } else if (contentLength !== undefined) {
    const bytes = /^\d+$/.test(contentLength) ? Number(contentLength) : Number.NaN;
    if (!Number.isSafeInteger(bytes)) {
      return {
        ok: false,
        status: 400,
        message: `Content-Length '${contentLength}' is not a number`,
      };
    }
    framing = { kind: 'length', bytes };
  }
  return {
    ok: true,
    contentType,
    info: streamInfoOf(head.headers),
    expectContinue: /100-continue/i.test(head.headers.get('expect') ?? ''),
    framing,
  };
}

export type MetadataUpdate =
  /** `known`: mode `updinfo`, the one action Icecast takes here. */
  | { readonly ok: true; readonly known: boolean; readonly title: string | null }
  | { readonly ok: false; readonly status: 400 | 401; readonly message: string };

/** The path radio software sends title updates to (Icecast's admin interface). */
export const METADATA_PATH = '/admin/metadata';

/**
 * A title update as Icecast 2.4 takes it (src/admin.c, command_metadata): `GET
 * /admin/metadata?mount=/live.mp3&mode=updinfo&song=Artist%20-%20Title` with the source
 * password, for a mount that has a source client. `song`, else `artist` and `title`.
 */
export function admitMetadataUpdate(head: SourceRequestHead, mount: SourceMount): MetadataUpdate {
  if (!passwordMatches(head.headers.get('authorization'), mount.password)) {
    return { ok: false, status: 401, message: 'You need to authenticate' };
  }
  if (head.query.get('mount') !== mount.mount || !mount.inUse) {
    return { ok: false, status: 400, message: 'Source does not exist' };
  }
  if (head.query.get('mode') !== 'updinfo') return { ok: true, known: false, title: null };
  const song = head.query.get('song');
  const artist = head.query.get('artist');
  const title = head.query.get('title');
  return {
    ok: true,
    known: true,
    title: song ?? (artist && title ? `${artist} - ${title}` : null),
  };
}

/** Icecast's XML answer to a title update (`return` 0: an action it does not know). */
export function metadataResponse(known: boolean): string {
  const message = known ? 'Metadata update successful' : 'No such action';
  const body = `<?xml version="1.0"?>\n<iceresponse><message>${message}</message><return>${known ? 1 : 0}</return></iceresponse>\n`;
  return [
    'HTTP/1.0 200 OK',
    'Content-Type: text/xml; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Authorization Required',
  403: 'Forbidden',
  404: 'File Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** An error answer in Icecast's shape: HTTP/1.0, a text body, the connection closed. */
export function sourceErrorResponse(status: number, message: string): string {
  const body = `${message}\n`;
  return [
    `HTTP/1.0 ${status} ${REASONS[status] ?? 'Error'}`,
    ...(status === 401 ? ['WWW-Authenticate: Basic realm="Icecast2 Server"'] : []),
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** Icecast's answers to an admitted source (src/client.c client_send_100, src/connection.c). */
export const SOURCE_CONTINUE_RESPONSE = 'HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n';
export const SOURCE_OK_RESPONSE = 'HTTP/1.0 200 OK\r\n\r\n';

/** Longest chunk-size line (size, extensions) taken before the body is called malformed. */
const MAX_CHUNK_LINE = 1024;

/**
 * Decodes a chunked body (RFC 9112 section 7.1): `curl -T -` and some encoders push
 * that way. `push` returns the data and whether the last chunk came; malformed input
 * throws, and the caller drops the client.
 */
export class ChunkedBodyDecoder {
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line = '';
  #remaining = 0;

  push(bytes: Uint8Array): { readonly data: Uint8Array[]; readonly ended: boolean } {
    const data: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.byteLength && this.#state !== 'done') {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, bytes.byteLength - offset);
        data.push(bytes.subarray(offset, offset + take));
        offset += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'data-end';
        continue;
      }
      const byte = bytes[offset]!;
      offset += 1;
      if (byte !== 0x0a) {
        if (byte !== 0x0d) this.#line += String.fromCharCode(byte);
        if (this.#line.length > MAX_CHUNK_LINE) throw new Error('chunk-size line too long');
        continue;
      }
      const line = this.#line;
      this.#line = '';
      if (this.#state === 'data-end') {
        if (line !== '') throw new Error('no CRLF after chunk data');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,8})\s*(;.*)?$/.exec(line);
        if (!size) throw new Error(`bad chunk-size line '${line.slice(0, 40)}'`);
        this.#remaining = Number.parseInt(size[1]!, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'done';
      }
    }
    return { data, ended: this.#state === 'done' };
  }
}
