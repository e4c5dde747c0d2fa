import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenTcp } from '@p2psp/host';
import { formatEndpoint } from '@p2psp/wire';
import type { PlayerFanOut } from './player-fan-out.js';

export interface PlayerServerOptions {
  readonly fanOut: PlayerFanOut;
  /** Listen address (default 127.0.0.1: players are usually on the same machine). */
  readonly address?: string;
  /** Listen port; 0 picks a free one. */
  readonly port: number;
  /** The body of `GET /status`. */
  readonly status: () => unknown;
}

export interface PlayerServer {
  readonly address: string;
  readonly port: number;
  /** Where a player opens the stream, e.g. http://127.0.0.1:8080/stream. */
  readonly url: string;
  close(): Promise<void>;
}

function remoteOf(request: IncomingMessage): string {
  const socket = request.socket;
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${text}\n`);
}

/**
 * The peer's player port: `GET /` or `/stream` is the live stream (an Icecast-like mount),
 * `GET /status` the peer's counters as JSON. Anything else is a 404 naming the paths.
 */
export async function startPlayerServer(options: PlayerServerOptions): Promise<PlayerServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendText(response, 405, 'Only GET and HEAD are served here.');
      return;
    }
    if (path === '/' || path === '/stream') {
      if (request.method === 'HEAD') {
        response.writeHead(200, {
          'Content-Type': options.fanOut.streamMediaType ?? 'application/octet-stream',
          'Cache-Control': 'no-cache, no-store',
        });
        response.end();
        return;
      }
      // A player may stay connected for hours: no idle timeout on its socket.
      request.socket.setTimeout(0);
      request.socket.setNoDelay(true);
      options.fanOut.addPlayer(response, remoteOf(request));
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
    sendText(response, 404, `No such path ${path}: the stream is at /stream, counters at /status.`);
  });
  // Players hold their response open for good; keep Node's request timeout out of it.
  server.requestTimeout = 0;
  server.on('clientError', (_error, socket) => {
    // Garbage from a client: answer 400 if we still can, never crash.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });
  await listenTcp(server, { address: options.address ?? '127.0.0.1', port: options.port });
  const bound = server.address() as AddressInfo;
  // A wildcard bind is reached locally at the loopback address of its family.
  const urlAddress =
    bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  return {
    address: bound.address,
    port: bound.port,
    url: `http://${formatEndpoint({ address: urlAddress, port: bound.port })}/stream`,
    close: () =>
      new Promise<void>((resolve) => {
        options.fanOut.closeAll();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
