import { readFile } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HostLogger, listenTcp, parseEndpoint } from '@p2psp/host';
import type { PeerEvent } from '@p2psp/peer';
import { type PeerHandle, type PeerStatus, startPeer } from '@p2psp/peer/node';
import { formatEndpoint } from '@p2psp/wire';

/** The source's status port when `statusUrl` is not given (the port its docs use). */
export const DEFAULT_SOURCE_STATUS_PORT = 9100;
/** How often the dashboard gets a snapshot: one point per second on its charts. */
const SNAPSHOT_INTERVAL_MS = 1_000;
/** How soon the monitor retries the source's event stream, or a join, after losing it. */
const RETRY_MS = 1_000;
/** Dashboards at once; more are answered 503. */
const MAX_DASHBOARDS = 16;
/** Log lines kept for a dashboard opened later (as many as the page shows). */
const LOG_KEPT = 200;

export interface MonitorOptions {
  /** The source's cluster port, `HOST:PORT`. */
  readonly source: string;
  /** The source's status port (`p2psp source --status-port`), `http://HOST:PORT`; default the source's host, port 9100. */
  readonly statusUrl?: string;
  /** The monitor credential the source was started with (rule 8). */
  readonly credential?: Uint8Array;
  /** The dashboard's HTTP port (0 picks one). */
  readonly port: number;
  /** The dashboard's bind address (default 127.0.0.1). */
  readonly address?: string;
  /** Where the built dashboard is (index.html, dashboard.js, dashboard.css). */
  readonly assetsDirectory?: string;
  readonly logger?: HostLogger;
}

export interface MonitorHandle {
  /** The dashboard, e.g. http://127.0.0.1:8090/. */
  readonly url: string;
  /** The monitor peer's player URL. */
  readonly playerUrl: () => string | null;
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** One line of the dashboard's log. */
export interface MonitorLogEntry {
  readonly time: string;
  readonly name: string;
  readonly [field: string]: unknown;
}

/** What the dashboard receives every second. */
export interface MonitorSnapshot {
  readonly time: number;
  readonly source: 'up' | 'down';
  /** The source's `/status`, or null while it is unreachable. */
  readonly status: Record<string, unknown> | null;
  /** The monitor peer's own status, or null while it (re)joins. */
  readonly monitor: PeerStatus | null;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function defaultAssets(): string {
  return fileURLToPath(new URL('./dashboard/', import.meta.url));
}

function statusBase(options: MonitorOptions): string {
  if (options.statusUrl !== undefined) return options.statusUrl.replace(/\/(status)?$/, '');
  const { host } = parseEndpoint(options.source, '--source');
  return `http://${formatEndpoint({ address: host, port: DEFAULT_SOURCE_STATUS_PORT })}`;
}

/** GETs `url` as JSON; 2 s without a whole answer fails. */
async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Runs a trusted monitor peer (rule 8) and a dashboard of the cluster on `port`: `GET /` the
 * page, `GET /updates` server-sent events (a snapshot a second, and log lines), `GET
 * /stream` the monitor's own stream for the page's `<audio>`, `GET /metrics` its Prometheus
 * metrics. Its data: the source's `/status` and `/events`, and the monitor peer's stats. A
 * refused join (a wrong credential) rejects with the peer's error; later, a lost source is
 * retried every second, and the page says so.
 */
export async function startMonitor(options: MonitorOptions): Promise<MonitorHandle> {
  const logger = options.logger;
  const base = statusBase(options);
  const assets = options.assetsDirectory ?? defaultAssets();
  const dashboards = new Set<ServerResponse>();
  let stopped = false;
  let peer: PeerHandle | null = null;
  let sourceUp = false;
  let sourceSeen = false;
  let lastStatus: Record<string, unknown> | null = null;

  const logKept: string[] = [];
  const sse = (event: string, data: unknown) =>
    `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const broadcast = (text: string) => {
    for (const response of dashboards) response.write(text);
  };
  const log = (name: string, fields: Record<string, unknown> = {}) => {
    const entry: MonitorLogEntry = { time: new Date().toISOString(), name, ...fields };
    const text = sse('log', entry);
    logKept.push(text);
    if (logKept.length > LOG_KEPT) logKept.shift();
    broadcast(text);
  };

  const joinOptions = {
    source: options.source,
    monitor: true,
    playerPort: 0,
    ...(options.credential ? { credential: options.credential } : {}),
    ...(logger ? { logger } : {}),
    // The peer joins again by itself when the source restarts or removes it; the page says so.
    onEvent: (event: PeerEvent) => {
      if (event.name === 'rejoin-wait' && event.fields.attempt === 1) {
        log('monitor-leave', { reason: `${event.fields.code}: ${event.fields.cause}` });
      } else if (event.name === 'rejoin-done') {
        log('monitor-join', { source: options.source });
      }
    },
  };
  // The first join must succeed: a wrong credential or no source is the operator's to fix.
  peer = await startPeer(joinOptions);
  const rejoin = async (reason: string) => {
    log('monitor-leave', { reason });
    peer = null;
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      if (stopped) return;
      try {
        peer = await startPeer(joinOptions);
        log('monitor-join', { source: options.source });
        void peer.done.then((again) => (stopped ? undefined : rejoin(again)));
        return;
      } catch (error) {
        logger?.debug({ message: (error as Error).message }, 'monitor-rejoin-fail');
      }
    }
  };
  void peer.done.then((reason) => (stopped ? undefined : rejoin(reason)));

  // The source's membership events, kept open and reopened after a restart of the source.
  let events: ReturnType<typeof get> | null = null;
  const openEvents = () => {
    if (stopped) return;
    events = get(`${base}/events`, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        setTimeout(openEvents, RETRY_MS);
        return;
      }
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        buffered += text;
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const name = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (name !== undefined && data !== undefined) {
            try {
              log(name, JSON.parse(data) as Record<string, unknown>);
            } catch {
              // A line that is not JSON is not ours to show.
            }
          }
          end = buffered.indexOf('\n\n');
        }
      });
      response.on('close', () => {
        if (!stopped) setTimeout(openEvents, RETRY_MS);
      });
    });
    events.on('error', () => {
      if (!stopped) setTimeout(openEvents, RETRY_MS);
    });
  };
  openEvents();

  const snapshot = async () => {
    try {
      lastStatus = await getJson(`${base}/status`);
      if (!sourceUp) log(sourceSeen ? 'source-reconnect' : 'source-up', { url: base });
      sourceUp = true;
      sourceSeen = true;
    } catch (error) {
      if (sourceUp) log('source-lost', { url: base, message: (error as Error).message });
      sourceUp = false;
      lastStatus = null;
    }
    const data: MonitorSnapshot = {
      time: Date.now(),
      source: sourceUp ? 'up' : 'down',
      status: lastStatus,
      monitor: peer?.status() ?? null,
    };
    broadcast(sse('snapshot', data));
  };
  const ticker = setInterval(() => void snapshot(), SNAPSHOT_INTERVAL_MS);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/updates') {
      if (dashboards.size >= MAX_DASHBOARDS) {
        response.writeHead(503, { 'retry-after': '10' }).end('too many dashboards\n');
        return;
      }
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      // The log so far first: the joins before the page opened belong on it.
      response.write(`retry: 1000\n\n${logKept.join('')}`);
      dashboards.add(response);
      request.on('close', () => dashboards.delete(response));
      return;
    }
    if (path === '/stream' || path === '/metrics') {
      // The monitor peer's own stream and Prometheus metrics, from its player port.
      const playerUrl = peer?.playerUrl.replace(/\/stream$/, path);
      if (!playerUrl) {
        response.writeHead(503, { 'retry-after': '2' }).end('the monitor is rejoining\n');
        return;
      }
      const upstream = get(playerUrl, (player) => {
        response.writeHead(player.statusCode ?? 502, {
          'content-type': player.headers['content-type'] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        });
        player.pipe(response);
      });
      upstream.on('error', () => response.destroy());
      request.on('close', () => upstream.destroy());
      return;
    }
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (!/^[a-z-]+\.(html|js|css)$/.test(file)) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    readFile(join(assets, file)).then(
      (body) => {
        response.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-cache',
        });
        response.end(body);
      },
      () => response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'),
    );
  });
  try {
    await listenTcp(server, { address: options.address ?? '127.0.0.1', port: options.port });
  } catch (error) {
    stopped = true;
    clearInterval(ticker);
    await peer.stop();
    throw error;
  }
  void snapshot();
  const bound = server.address() as AddressInfo;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  logger?.info(
    { url: `http://${formatEndpoint({ address: bound.address, port: bound.port })}/` },
    'monitor-listen',
  );
  return {
    url: `http://${formatEndpoint({ address: bound.address, port: bound.port })}/`,
    playerUrl: () => peer?.playerUrl ?? null,
    done,
    async stop() {
      stopped = true;
      clearInterval(ticker);
      events?.destroy();
      for (const response of dashboards) response.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await peer?.stop();
      finish();
    },
  };
}
