import type { StreamInfo } from '@p2psp/wire';

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
