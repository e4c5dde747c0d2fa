import type { StreamInfo } from '@p2psp/wire';

/**
 * Removes SHOUTcast/Icecast in-band metadata from a stream fetched with `Icy-MetaData: 1`:
 * after every `icy-metaint` media bytes comes one length byte L and L x 16 bytes of text
 * like `StreamTitle='...';`. Hand-written because it is a dozen lines and no maintained
 * library does only this.
 */
export class IcyMetadataStripper {
  private mediaLeft: number;
  private metadataLeft = 0;
  private metadata: number[] = [];
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
        for (let at = index; at < index + take; at += 1) this.metadata.push(bytes[at]!);
        index += take;
        this.metadataLeft -= take;
        if (this.metadataLeft === 0) {
          const text = Buffer.from(this.metadata).toString('utf8').replace(/\0+$/, '');
          const title = /StreamTitle='(.*?)';/.exec(text)?.[1];
          if (title !== undefined) titles.push(title);
          this.metadata = [];
          this.mediaLeft = this.interval;
        }
      }
    }
    const joined = media.length === 1 ? media[0]! : Buffer.concat(media);
    return { media: joined, titles };
  }
}

/** The first value of a header (Node gives repeated ones as an array). */
function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

/**
 * The station's info from a SHOUTcast/Icecast listener response (`icy-name`,
 * `icy-description`, `icy-genre`, `icy-url`, `icy-br`); empty and 0 where absent.
 */
export function icyStreamInfo(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): StreamInfo {
  // `icy-br` may list several rates (`128,128`, SHOUTcast); the first is the stream's.
  const bitrate = Number.parseInt(headerText(headers['icy-br']), 10);
  return {
    name: headerText(headers['icy-name']),
    description: headerText(headers['icy-description']),
    genre: headerText(headers['icy-genre']),
    url: headerText(headers['icy-url']),
    bitrate: Number.isSafeInteger(bitrate) && bitrate > 0 ? bitrate : 0,
  };
}
