import { concatBytes } from './bytes.js';

// SHOUTcast/Icecast in-band metadata ("ICY"), as Icecast 2.4 serves it (src/format_mp3.c):
// a listener that sends `Icy-MetaData: 1` gets `icy-metaint: N`, and after every N stream
// bytes one length byte L then L x 16 bytes of text like `StreamTitle='...';`, padded with
// NULs; L = 0 when the title did not change since that listener's last block. Hand-written:
// a dozen lines each way, and no maintained library does only this.

/** Icecast's default `<icy-metadata-interval>` (src/cfgfile.c: 16000). */
export const ICY_METAINT = 16_000;

/** The largest block a length byte can announce: 255 x 16 bytes. */
const MAX_ICY_BLOCK_BYTES = 255 * 16;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

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
 * One listener's ICY framing (the server side): stream bytes in, the same bytes with a
 * metadata block after every `interval` bytes out. `title()` gives the current title and
 * its version; a listener gets a title's text once, then empty blocks until it changes.
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
    return concatBytes(pieces);
  }

  #block(): Uint8Array {
    const { text, version } = this.title();
    if (version === this.#sentVersion) return NO_CHANGE;
    this.#sentVersion = version;
    return icyMetadataBlock(text);
  }
}

/**
 * Takes the metadata out of a stream fetched with `Icy-MetaData: 1` (the listener side):
 * the media bytes and the titles (`StreamTitle`) announced in them, in order.
 */
export class IcyMetadataStripper {
  private mediaLeft: number;
  private metadataLeft = 0;
  private metadata: Uint8Array[] = [];
  private readingLength = false;

  constructor(private readonly interval: number) {
    this.mediaLeft = interval;
  }

  /** Feeds raw bytes; returns the media bytes and the titles announced in them. */
  push(bytes: Uint8Array): { media: Uint8Array; titles: string[] } {
    const media: Uint8Array[] = [];
    const titles: string[] = [];
    let index = 0;
    while (index < bytes.byteLength) {
      if (this.mediaLeft > 0) {
        const take = Math.min(this.mediaLeft, bytes.byteLength - index);
        media.push(bytes.subarray(index, index + take));
        index += take;
        this.mediaLeft -= take;
        if (this.mediaLeft === 0) this.readingLength = true;
      } else if (this.readingLength) {
        this.metadataLeft = bytes[index]! * 16;
        index += 1;
        this.readingLength = false;
        if (this.metadataLeft === 0) this.mediaLeft = this.interval;
      } else {
        const take = Math.min(this.metadataLeft, bytes.byteLength - index);
        this.metadata.push(bytes.slice(index, index + take));
        index += take;
        this.metadataLeft -= take;
        if (this.metadataLeft === 0) {
          const text = utf8Decoder.decode(concatBytes(this.metadata)).replace(/\0+$/, '');
          const title = /StreamTitle='(.*?)';/s.exec(text)?.[1];
          if (title !== undefined) titles.push(title);
          this.metadata = [];
          this.mediaLeft = this.interval;
        }
      }
    }
    return { media: media.length === 1 ? media[0]! : concatBytes(media), titles };
  }
}
