import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainListenError, listenTcp } from '@p2psp/host';
import { icecastStatusJson } from '@p2psp/peer/node';
import type { SourceEvent } from '@p2psp/source';
import { type SourceHandle, type SourceMetrics, SourceRuntimeError } from '@p2psp/source/node';
import { formatEndpoint } from '@p2psp/wire';

/**
 * The events the view keeps and streams: members, roles, expulsions, complaints, and NAT
 * pairs left apart (the dashboard's log).
 */
type MembershipEvent = Extract<
  SourceEvent,
  {
    readonly name:
      | 'peer-join'
      | 'peer-leave'
      | 'peer-expel'
      | 'join-refuse'
      | 'join-timeout'
      | 'complaint-receive'
      | 'punch-skip';
  }
>;

function isMembershipEvent(event: SourceEvent): event is MembershipEvent {
  switch (event.name) {
    case 'peer-join':
    case 'peer-leave':
    case 'peer-expel':
    case 'join-refuse':
    case 'join-timeout':
    case 'complaint-receive':
    case 'punch-skip':
      return true;
    default:
      return false;
  }
}
type StatsReport = Omit<Extract<SourceEvent, { name: 'stats-receive' }>['fields'], 'memberId'>;

/** Membership events kept for `/status` (older ones are dropped: a bounded history). */
const HISTORY = 256;
/** Event-stream clients at once; more are answered 503 (a status port is not a broadcast). */
const MAX_EVENT_CLIENTS = 16;

/**
 * The source's view of its cluster for operators and the dashboard to come: the
 * members with their roles, chunks and complaints, complaints ignored by reason (only
 * monitors may complain, rule 8), the recent joins, leaves and expulsions, and the core's
 * counters. `record` is given every core event; `snapshot` is what `GET /status` answers.
 */
export class SourceView {
  readonly #history: { readonly time: string; readonly event: MembershipEvent }[] = [];
  readonly #listeners = new Set<(line: string) => void>();
  /** Each member's latest stats report, shown beside it in `/status`. */
  readonly #reports = new Map<number, StatsReport>();
  #source: SourceHandle | null = null;
  /** The most listeners (players the members reported) seen at once: `listener_peak`. */
  #listenerPeak = 0;
  readonly #started = new Date();

  attach(source: SourceHandle): void {
    this.#source = source;
  }

  record(event: SourceEvent): void {
    if (event.name === 'stats-receive') {
      const { memberId, ...report } = event.fields;
      this.#reports.set(memberId, report);
      this.#listenerPeak = Math.max(this.#listenerPeak, this.#playersReported());
      return;
    }
    if (event.name === 'peer-leave' || event.name === 'peer-expel') {
      this.#reports.delete(event.fields.memberId);
    }
    if (!isMembershipEvent(event)) return;
    const entry = { time: new Date().toISOString(), event };
    this.#history.push(entry);
    if (this.#history.length > HISTORY) this.#history.shift();
    const line = `event: ${event.name}\ndata: ${JSON.stringify({ time: entry.time, ...event.fields })}\n\n`;
    for (const listener of this.#listeners) listener(line);
  }

  snapshot(): Record<string, unknown> {
    const source = this.#source;
    if (source === null) return { state: 'starting' };
    const core = source.core;
    const stats = core.stats();
    return {
      state: 'running',
      endpoint: formatEndpoint(source.endpoint),
      mediaType: source.mediaType,
      // What players hear: the input, or the fallback while it is stalled or lost.
      ingest: source.status().ingest,
      members: core.members().map((member) => ({
        memberId: member.memberId,
        role: member.role,
        endpoint: formatEndpoint(member.endpoint),
        nat: member.nat.type,
        joinedAt: member.joinedAt,
        chunksSent: member.chunksSent,
        complaints: member.complaints,
        report: this.#reports.get(member.memberId) ?? null,
      })),
      complaints: {
        received: stats.complaintsReceived,
        // Not charged, by reason: `not-monitor` counts complaints from non-monitors (rule 8).
        ignored: core.cluster.ledger.ignored,
      },
      removals: core.cluster.members
        .removals()
        .slice(-64)
        .map((removal) => ({
          memberId: removal.member.memberId,
          endpoint: formatEndpoint(removal.member.endpoint),
          role: removal.member.role,
          reason: removal.reason,
          complaints: removal.member.complaints,
          chunksSent: removal.member.chunksSent,
          removedAt: removal.removedAt,
        })),
      events: this.#history.map((entry) => ({
        time: entry.time,
        name: entry.event.name,
        ...entry.event.fields,
      })),
      stats,
      host: source.counters,
    };
  }

  /** Players connected to the members now, as their latest reports say. */
  #playersReported(): number {
    let players = 0;
    for (const report of this.#reports.values()) players += report.players;
    return players;
  }

  /**
   * Icecast's `/status-json.xsl` for the cluster as one mount: its listeners are the players
   * every member serves (their stats reports), its title and station info the ingest's.
   */
  icecastStatus(host: string): object {
    const source = this.#source;
    return icecastStatusJson({
      host,
      serverStart: this.#started,
      mounts:
        source === null
          ? []
          : [
              {
                // Players reach the stream at a peer; the cluster itself is joined here.
                listenUrl: `p2psp://${formatEndpoint(source.endpoint)}`,
                mediaType: source.mediaType,
                title: source.core.title(),
                info: source.core.streamInfo(),
                listeners: this.#playersReported(),
                listenerPeak: this.#listenerPeak,
                streamStart: this.#started,
              },
            ],
    });
  }

  /** Subscribes to membership events as server-sent-event lines; returns the unsubscribe. */
  subscribe(listener: (line: string) => void): (() => void) | null {
    if (this.#listeners.size >= MAX_EVENT_CLIENTS) return null;
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Serves a request of the status port if it is one of its paths; false to let the next try. */
export type StatusRoute = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
) => boolean;

/**
 * A source's status: `GET /status` (JSON snapshot), `GET /status-json.xsl` (Icecast's
 * status JSON), `GET /events` (membership events as server-sent events) and `GET /metrics`
 * (Prometheus). Answers every request it gets: anything else is 404, only GET is served.
 */
export function sourceStatusRoute(
  view: SourceView,
  metrics: SourceMetrics,
  address: string,
): StatusRoute {
  return (request, response, path) => {
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return true;
    }
    if (path === '/status') {
      response
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(`${JSON.stringify(view.snapshot())}\n`);
      return true;
    }
    if (path === '/status-json.xsl') {
      const host = (request.headers.host ?? address).replace(/:\d+$/, '');
      response
        .writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          'access-control-allow-origin': '*',
        })
        .end(JSON.stringify(view.icecastStatus(host)));
      return true;
    }
    if (path === '/events') {
      const unsubscribe = view.subscribe((line) => response.write(line));
      if (unsubscribe === null) {
        response.writeHead(503, { 'retry-after': '10' }).end('too many event clients\n');
        return true;
      }
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      response.write(': p2psp source membership events\n\n');
      request.on('close', unsubscribe);
      return true;
    }
    if (path === '/metrics') {
      void metrics.metrics.respond(response);
      return true;
    }
    response
      .writeHead(404, { 'content-type': 'text/plain' })
      .end('try /status, /status-json.xsl, /events or /metrics\n');
    return true;
  };
}

/**
 * The status port, loopback by default: each request goes to the first route that takes
 * it (the control API's, then a source's status); 404 when none does.
 */
export async function startStatusServer(
  routes: readonly StatusRoute[],
  port: number,
  address: string,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (routes.some((route) => route(request, response, path))) return;
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  try {
    await listenTcp(server, { address, port });
  } catch (error) {
    throw explainListenError(error, SourceRuntimeError, {
      inUse: `--status-port ${port} is already in use: stop the program using it, or pick another with --status-port (0 picks a free one)`,
      cannotListen: (code) =>
        `--status-port ${port} on --status-address ${address}: cannot listen there (${code}); pick an address of this machine and a port above 1023`,
    });
  }
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${formatEndpoint({ address: bound.address, port: bound.port })}/status`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
