import { isIP } from 'node:net';
import { P2pspError } from '@p2psp/wire';
import { CLUSTER_ERRORS, type EndpointSyntaxErrorCode } from '../errors.js';

/** A `HOST:PORT` as typed by a user: the host may be a name, resolved later. */
export interface ParsedEndpoint {
  readonly host: string;
  readonly port: number;
}

/** A user-supplied address or port is wrong; the message names the problem and the fix. */
export class EndpointSyntaxError extends P2pspError<EndpointSyntaxErrorCode> {
  override readonly name = 'EndpointSyntaxError';

  constructor(message?: string) {
    super('P2PSP_ERR_BAD_ADDRESS', CLUSTER_ERRORS.P2PSP_ERR_BAD_ADDRESS, message);
  }
}

/** Parses a port number, 0 allowed when `allowZero` (pick a free one). */
export function parsePort(text: string, what: string, allowZero = true): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(port) || port < min || port > 65_535) {
    throw new EndpointSyntaxError(
      `${what}: '${text}' is not a port number; use an integer from ${min} to 65535`,
    );
  }
  return port;
}

/**
 * Parses `host:port`, `[v6]:port` or `v6-literal` forms. Hosts may be names (resolved when
 * used) or IP literals; anything else is refused with a message saying the expected form.
 */
export function parseEndpoint(text: string, what = 'address'): ParsedEndpoint {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  let host: string | undefined;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon > 0 && trimmed.indexOf(':') === colon) {
      host = trimmed.slice(0, colon);
      portText = trimmed.slice(colon + 1);
    }
  }
  const validHost =
    host !== undefined &&
    (isIP(host) !== 0 ||
      /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(
        host,
      ));
  if (!validHost || host === undefined || portText === undefined) {
    throw new EndpointSyntaxError(
      `${what}: '${text}' is not HOST:PORT; write it like 127.0.0.1:4552, example.org:4552 or [::1]:4552`,
    );
  }
  return { host, port: parsePort(portText, what, false) };
}
