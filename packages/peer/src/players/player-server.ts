import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { listenTcp } from '@p2psp/host';
import { formatEndpoint } from '@p2psp/wire';
import { PeerRuntimeError } from '../node/errors.js';
import { icecastStatusJson } from './icecast-status.js';
import { PREFLIGHT_HEADERS, wantsIcyMetadata } from './icy.js';
import type { PlayerFanOut } from './player-fan-out.js';
import { TcpSendQueues } from './tcp-send-queues.js';

/**
 * Default caps. Each player may hold up to the fan-out's unsent bound (1 MiB) before it is
 * dropped, so 64 players bound the port's worst case near 64 MiB of queued stream; a
 * listener's machine serves a handful of players, a LAN relay a few dozen (Icecast's
 * default is 100 listeners per server). One address is one household behind its NAT, or
 * this machine on the default 127.0.0.1 binding: 8 players covers its devices and tabs,
 * and one client cannot take the whole port.
 */
export const PLAYER_SERVER_DEFAULTS = {
  maxPlayers: 64,
  maxPlayersPerAddress: 8,
  /**
   * A player sends its whole request head at once, in one segment: 5 s covers its
   * retransmissions (RFC 6298: a 1 s RTO, doubled), and an idle or slowloris connection
   * holds a socket no longer.
   */
  headTimeoutMs: 5_000,
} as const;

/** A player's request head is a few hundred bytes; Node allows 16 KiB, Apache 8 KiB a field. */
const MAX_HEAD_BYTES = 8 * 1024;
/** Connections beyond the players: `/status` requests, and room to answer 503. */
const EXTRA_CONNECTIONS = 32;
/** Connections one address may hold beyond its players before new ones are cut at once. */
const EXTRA_CONNECTIONS_PER_ADDRESS = 8;
/** Seconds a refused player is told to wait (RFC 9110 section 10.2.3). */
const RETRY_AFTER_SECONDS = 10;
/** How often the kernel send queues are read and every player is judged. */
const SWEEP_INTERVAL_MS = 1_000;

export interface PlayerServerOptions {
  readonly fanOut: PlayerFanOut;
  /** Listen address (default 127.0.0.1: players are usually on the same machine). */
  readonly address?: string;
  /** Listen port; 0 picks a free one. */
  readonly port: number;
  /** The body of `GET /status`. */
  readonly status: () => unknown;
  /** Answers `GET /metrics` (Prometheus text format); without it, 404. */
  readonly metrics?: (response: ServerResponse) => Promise<void>;
  /** Players served at once; more are answered 503 with Retry-After (default 64). */
  readonly maxPlayers?: number;
  /** Players served at once to one client address; more get 503 too (default 8). */
  readonly maxPlayersPerAddress?: number;
  /** A connection without a complete request head after this long is closed (default 5 s). */
  readonly headTimeoutMs?: number;
}

export interface PlayerServer {
  readonly address: string;
  readonly port: number;
  /** Where a player opens the stream, e.g. http://127.0.0.1:8080/stream. */
  readonly url: string;
  close(): Promise<void>;
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${text}\n`);
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new PeerRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `${name} ${value}: expected an integer of at least 1 (default ${fallback})`,
    );
  }
  return value;
}

/**
 * The peer's player port: `GET /` or `/stream` is the live stream (an Icecast-like mount:
 * `icy-*` headers, ICY titles for players that send `Icy-MetaData: 1`, HEAD, CORS),
 * `GET /status` the peer's counters as JSON, `GET /status-json.xsl` Icecast's status JSON,
 * `GET /metrics` for Prometheus. Anything else is
 * a 404 naming the paths. The port is open to abuse (players that never read, floods of
 * connections that send nothing), so it caps players, closes connections without a request head fast, and drops players
 * that fall behind (the fan-out's rules, also judged every second here).
 */
export async function startPlayerServer(options: PlayerServerOptions): Promise<PlayerServer> {
  const { fanOut } = options;
  const defaults = PLAYER_SERVER_DEFAULTS;
  const maxPlayers = positiveInteger('maxPlayers', options.maxPlayers, defaults.maxPlayers);
  const maxPerAddress = positiveInteger(
    'maxPlayersPerAddress',
    options.maxPlayersPerAddress,
    defaults.maxPlayersPerAddress,
  );
  const headTimeoutMs = positiveInteger(
    'headTimeoutMs',
    options.headTimeoutMs,
    defaults.headTimeoutMs,
  );

  const refuse = (response: ServerResponse, reason: 'server-full' | 'address-full') => {
    fanOut.countDrop(reason, remoteOf(response.socket as Socket));
    response.writeHead(503, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Retry-After': String(RETRY_AFTER_SECONDS),
      Connection: 'close',
    });
    response.end(
      reason === 'server-full'
        ? `This peer serves ${maxPlayers} players already; retry later, or use another peer.\n`
        : `This peer serves ${maxPerAddress} players to your address already; close one, or retry later.\n`,
    );
  };

  const server: Server = createServer(
    {
      maxHeaderSize: MAX_HEAD_BYTES,
      headersTimeout: headTimeoutMs,
      // A GET has no body: the request is complete with its head. Node checks both every
      // connectionsCheckingInterval (30 s by default, too slow to matter here).
      requestTimeout: headTimeoutMs,
      connectionsCheckingInterval: Math.min(500, headTimeoutMs),
    },
    (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'OPTIONS') {
        // A CORS preflight: a page elsewhere that sends `Icy-MetaData` asks first.
        response.writeHead(204, PREFLIGHT_HEADERS);
        response.end();
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD, OPTIONS');
        sendText(response, 405, 'Only GET, HEAD and OPTIONS are served here.');
        return;
      }
      const icyMetadata = wantsIcyMetadata(request.headers['icy-metadata']);
      if (path === '/' || path === '/stream') {
        if (request.method === 'HEAD') {
          // The stream's headers only, as a mount answers a HEAD (players probe with it).
          response.writeHead(200, fanOut.responseHeaders(icyMetadata));
          response.end();
          return;
        }
        if (fanOut.playerCount >= maxPlayers) return refuse(response, 'server-full');
        if (fanOut.playersFrom(request.socket.remoteAddress ?? '?') >= maxPerAddress) {
          return refuse(response, 'address-full');
        }
        // A player may stay connected for hours: no idle timeout on its socket.
        request.socket.setTimeout(0);
        request.socket.setNoDelay(true);
        fanOut.addPlayer(response, { icyMetadata });
        return;
      }
      if (path === '/status-json.xsl') {
        // Icecast's status page shape, for the widgets and scripts radios already use.
        const host =
          request.headers.host ?? formatEndpoint({ address: urlAddress, port: bound.port });
        const body = icecastStatusJson({
          host: host.replace(/:\d+$/, ''),
          serverStart,
          mounts: [
            {
              listenUrl: `http://${host}/stream`,
              mediaType: fanOut.streamMediaType,
              title: fanOut.streamTitle,
              info: fanOut.streamInfo,
              listeners: fanOut.playerCount,
              listenerPeak: fanOut.counters.playersPeak,
              streamStart: fanOut.streamStart,
            },
          ],
        });
        response.writeHead(200, {
          'Content-Type': 'application/json; charset=utf-8',
          'Cache-Control': 'no-cache',
          'Access-Control-Allow-Origin': '*',
        });
        response.end(JSON.stringify(body));
        return;
      }
      if (path === '/status') {
        const body = JSON.stringify(options.status(), null, 2);
        response.writeHead(200, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-cache',
          'Access-Control-Allow-Origin': '*',
        });
        response.end(`${body}\n`);
        return;
      }
      if (path === '/metrics' && options.metrics) {
        void options.metrics(response);
        return;
      }
      sendText(
        response,
        404,
        `No such path ${path}: the stream is at /stream, counters at /status, /status-json.xsl (Icecast's shape) and /metrics.`,
      );
    },
  );
  server.maxConnections = maxPlayers + EXTRA_CONNECTIONS;
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    fanOut.countDrop('server-full', `${data?.remoteAddress ?? '?'}:${data?.remotePort ?? 0}`);
  });

  // One address may not fill the port with connections that are not players (a flood).
  const connectionsByAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const open = (connectionsByAddress.get(address) ?? 0) + 1;
    if (open > maxPerAddress + EXTRA_CONNECTIONS_PER_ADDRESS) {
      fanOut.countDrop('address-full', remoteOf(socket));
      socket.destroy();
      return;
    }
    connectionsByAddress.set(address, open);
    socket.once('close', () => {
      const left = (connectionsByAddress.get(address) ?? 1) - 1;
      if (left > 0) connectionsByAddress.set(address, left);
      else connectionsByAddress.delete(address);
    });
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // Never crash on a client: answer what went wrong if we still can, then close.
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    fanOut.countDrop(timedOut ? 'head-timeout' : 'bad-request', remoteOf(socket as Socket));
    socket.end(
      timedOut
        ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
    );
  });

  await listenTcp(server, { address: options.address ?? '127.0.0.1', port: options.port });
  const bound = server.address() as AddressInfo;
  const serverStart = new Date();

  // A wildcard bind is reached locally at the loopback address of its family.
  const urlAddress =
    bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;

  const sendQueues = TcpSendQueues.forFamily(bound.family);
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping || fanOut.playerCount === 0) return;
    sweeping = true;
    void sendQueues.refresh(bound.port).then(() => {
      sweeping = false;
      fanOut.checkPlayers((socket) => sendQueues.queued(socket));
    });
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  return {
    address: bound.address,
    port: bound.port,
    url: `http://${formatEndpoint({ address: urlAddress, port: bound.port })}/stream`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        fanOut.closeAll();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
