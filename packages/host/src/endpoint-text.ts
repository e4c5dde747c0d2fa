import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Endpoint } from '@p2psp/wire';
import { EndpointSyntaxError } from './errors.js';

/** A `HOST:PORT` as typed by a user: the host may be a name, resolved later. */
export interface ParsedEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface ParseEndpointOptions {
  /**
   * The port when the text names none (`HOST`, `[V6]` or a bare IPv6 literal), e.g. 3478 for
   * a STUN server (RFC 8489 section 18.6). Without it the port is required.
   */
  readonly defaultPort?: number;
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

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/**
 * Parses `host:port`, `[v6]:port` (and, with `defaultPort`, `host`, `[v6]` or a bare IPv6
 * literal). Hosts may be names (resolved when used) or IP literals; anything else is refused
 * with a message saying the expected form. `what` names the flag in the message.
 */
export function parseEndpoint(
  text: string,
  what = 'address',
  options: ParseEndpointOptions = {},
): ParsedEndpoint {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  let host: string | undefined;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon < 0 || isIP(trimmed) === 6) {
      host = trimmed;
    } else if (colon > 0 && trimmed.indexOf(':') === colon) {
      host = trimmed.slice(0, colon);
      portText = trimmed.slice(colon + 1);
    }
  }
  const validHost = host !== undefined && (isIP(host) !== 0 || HOST_NAME.test(host));
  const defaultPort = options.defaultPort;
  if (!validHost || host === undefined || (portText === undefined && defaultPort === undefined)) {
    throw new EndpointSyntaxError(
      `${what}: '${text}' is not HOST:PORT; write it like 127.0.0.1:4552, example.org:4552 or [::1]:4552`,
    );
  }
  return { host, port: portText === undefined ? defaultPort! : parsePort(portText, what, false) };
}

/**
 * The endpoint of a parsed `HOST:PORT`: an IP literal as it is, a name through the system
 * resolver (getaddrinfo, like every other program on this machine). Rejects with the
 * resolver's error (`ENOTFOUND`...), which the caller words for its flag.
 */
export async function lookupEndpoint(endpoint: ParsedEndpoint): Promise<Endpoint> {
  if (isIP(endpoint.host) !== 0) return { address: endpoint.host, port: endpoint.port };
  const { address } = await lookup(endpoint.host);
  return { address, port: endpoint.port };
}
