import type { StreamInfo } from '@p2psp/wire';

// What makes the player port answer like an Icecast 2.4 mount (src/format.c): the
// `icy-*` headers, and CORS so a page elsewhere can play it. The ICY framing itself is
// @p2psp/media's (`IcyInterleaver`).

/**
 * A header value as Icecast writes it: the UTF-8 bytes as they are (Node takes a header
 * string as Latin-1, one byte per character), control characters (CR, LF...) removed so a
 * title cannot add header lines (RFC 9110 section 5.5).
 */
function headerValue(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return Buffer.from(text.replace(/[\u0000-\u001f\u007f]/g, ''), 'utf8').toString('latin1');
}

/** The `icy-*` headers Icecast sends with a mount (src/format.c), for the fields known. */
export function icyHeaders(info: StreamInfo): Record<string, string> {
  const headers: Record<string, string> = {};
  const text: [string, string][] = [
    ['icy-name', info.name],
    ['icy-description', info.description],
    ['icy-genre', info.genre],
    ['icy-url', info.url],
  ];
  for (const [name, value] of text) if (value !== '') headers[name] = headerValue(value);
  if (info.bitrate > 0) headers['icy-br'] = String(info.bitrate);
  return headers;
}

/**
 * CORS for a page on another origin (the Fetch standard): it may read the stream, send
 * `Icy-MetaData`, and read the icy headers.
 */
export const STREAM_CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers':
    'icy-metaint, icy-name, icy-description, icy-genre, icy-url, icy-br, Content-Type',
} as const;

/** The answer to a CORS preflight (OPTIONS) on the player port. */
export const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': 'Icy-MetaData',
  'Access-Control-Max-Age': '86400',
} as const;

/** A request asks for ICY metadata with `Icy-MetaData: 1` (players send exactly that). */
export function wantsIcyMetadata(header: string | string[] | undefined): boolean {
  return (Array.isArray(header) ? header[0] : header)?.trim() === '1';
}
