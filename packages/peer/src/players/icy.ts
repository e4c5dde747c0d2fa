import type { StreamInfo } from '@p2psp/wire';

// SHOUTcast/Icecast in-band metadata ("ICY"), as Icecast 2.4 serves it (src/format_mp3.c):
// a player that sends `Icy-MetaData: 1` gets `icy-metaint: N`, and after every N stream
// bytes one length byte L then L x 16 bytes of `StreamTitle='...';`, padded with NULs;
// L = 0 when the title did not change since the player's last block.

/** Icecast's default `<icy-metadata-interval>` (src/cfgfile.c: 16000). */
export const ICY_METAINT = 16_000;

/** The largest block a length byte can announce: 255 x 16 bytes. */
const MAX_ICY_BLOCK_BYTES = 255 * 16;

const utf8Encoder = new TextEncoder();

/**
 * The metadata block for `title`: its length byte, `StreamTitle='title';` as UTF-8 (as
 * Icecast sends it, unescaped), NUL padding to a multiple of 16. Cut to 255 x 16 bytes.
 */
export function icyMetadataBlock(title: string): Uint8Array {
  const text = utf8Encoder.encode(`StreamTitle='${title}';`).subarray(0, MAX_ICY_BLOCK_BYTES);
  const sixteens = Math.ceil(text.length / 16);
  const block = new Uint8Array(1 + sixteens * 16);
  block[0] = sixteens;
  block.set(text, 1);
  return block;
}

/** The empty block: the title did not change. */
const NO_CHANGE = Uint8Array.of(0);

/**
 * One player's ICY framing: stream bytes in, the same bytes with a metadata block after
 * every `interval` bytes out. `title()` gives the current title and its version; a player
 * gets a title's text once, then empty blocks until it changes.
 */
export class IcyInterleaver {
  #untilBlock: number;
  #sentVersion = -1;

  constructor(
    readonly interval: number,
    private readonly title: () => { readonly text: string; readonly version: number },
  ) {
    this.#untilBlock = interval;
  }

  push(bytes: Uint8Array): Uint8Array {
    if (bytes.byteLength < this.#untilBlock) {
      this.#untilBlock -= bytes.byteLength;
      return bytes;
    }
    const pieces: Uint8Array[] = [];
    let offset = 0;
    while (bytes.byteLength - offset >= this.#untilBlock) {
      pieces.push(bytes.subarray(offset, offset + this.#untilBlock), this.#block());
      offset += this.#untilBlock;
      this.#untilBlock = this.interval;
    }
    pieces.push(bytes.subarray(offset));
    this.#untilBlock -= bytes.byteLength - offset;
    return Buffer.concat(pieces);
  }

  #block(): Uint8Array {
    const { text, version } = this.title();
    if (version === this.#sentVersion) return NO_CHANGE;
    this.#sentVersion = version;
    return icyMetadataBlock(text);
  }
}

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
