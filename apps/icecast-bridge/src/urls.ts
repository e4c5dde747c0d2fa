import { BridgeError } from './errors.js';

/** An Icecast mount to push to, as a source client. */
export interface IcecastTarget {
  readonly host: string;
  readonly port: number;
  /** `/live.mp3`. */
  readonly mount: string;
  readonly user: string;
  readonly password: string;
}

/** Icecast's default port (its `<listen-socket>` in the stock icecast.xml). */
export const ICECAST_DEFAULT_PORT = 8000;

const TARGET_FORM = 'write it as icecast://source:PASSWORD@HOST:PORT/MOUNT';

/** The text with any password in it masked, for messages and logs. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function parseUrl(text: string, flag: string, form: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new BridgeError(
      'P2PSP_ERR_BAD_OPTION',
      `${flag} ${redactUrl(text)} is not a URL: ${form}`,
    );
  }
}

/**
 * Reads `icecast://source:PASSWORD@HOST:PORT/MOUNT` (ffmpeg's form; `http://` is taken too).
 * Pure text: nothing is looked up, so a typo fails at once, before any DNS query.
 */
export function parseIcecastTarget(text: string): IcecastTarget {
  const url = parseUrl(text, '--to', TARGET_FORM);
  const where = `--to ${redactUrl(text)}`;
  if (url.protocol !== 'icecast:' && url.protocol !== 'http:') {
    throw new BridgeError(
      'P2PSP_ERR_BAD_OPTION',
      `${where}: the scheme must be icecast:// or http://; ${TARGET_FORM}`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') {
    throw new BridgeError('P2PSP_ERR_BAD_OPTION', `${where} names no host; ${TARGET_FORM}`);
  }
  if (url.pathname === '' || url.pathname === '/') {
    throw new BridgeError('P2PSP_ERR_BAD_OPTION', `${where} names no mount; ${TARGET_FORM}`);
  }
  if (url.password === '') {
    throw new BridgeError(
      'P2PSP_ERR_BAD_OPTION',
      `${where} has no password: put Icecast's <source-password> in it; ${TARGET_FORM}`,
    );
  }
  return {
    host,
    port: url.port === '' ? ICECAST_DEFAULT_PORT : Number(url.port),
    mount: url.pathname,
    user: decodeURIComponent(url.username) || 'source',
    password: decodeURIComponent(url.password),
  };
}

/** Reads the peer's player URL (`http://HOST:PORT/stream`), pure text as above. */
export function parsePlayerUrl(text: string): URL {
  const form = 'give a peer player URL, e.g. http://127.0.0.1:8080/stream';
  const url = parseUrl(text, '--from', form);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new BridgeError('P2PSP_ERR_BAD_OPTION', `--from ${redactUrl(text)}: ${form}`);
  }
  return url;
}

export function describeTarget(target: IcecastTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `icecast://${target.user}:***@${host}:${target.port}${target.mount}`;
}
