import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  createVerifier,
  explainListenError,
  type HostCounters,
  type HostLogger,
  lookupEndpoint,
  type NodeHost,
  parseEndpoint,
  RuntimeShutdown,
  sha256,
  startNodeHost,
} from '@p2psp/host';
import { detectNat } from '@p2psp/nat/node';
import {
  createRandom,
  type Endpoint,
  formatEndpoint,
  type NatReport,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import { PeerConfigError } from '../core/errors.js';
import type { PeerConfig } from '../core/peer-config.js';
import type { PeerCore } from '../core/peer-core.js';
import type { PeerEvent } from '../core/peer-events.js';
import type { RejoinOptions } from '../core/rejoin-policy.js';
import {
  RejoiningPeerCore,
  type RejoiningPeerStats,
  type RejoinView,
} from '../core/rejoining-peer-core.js';
import {
  type PlayerDropReason,
  PlayerFanOut,
  type SyncPointFinder,
} from '../players/player-fan-out.js';
import { type PlayerServer, startPlayerServer } from '../players/player-server.js';
import { PeerRuntimeError } from './errors.js';
import { createSyncPointFinder } from './media.js';
import { createPeerMetrics } from './metrics.js';

export interface PeerOptions {
  /** The source: `HOST:PORT` (a name or an IP literal) or an endpoint. */
  readonly source: string | Endpoint;
  /** UDP port of this peer; 0 (default) picks a free one. */
  readonly port?: number;
  /** UDP bind address; default all interfaces of the source's address family. */
  readonly address?: string;
  /** HTTP port for players (default 8080; 0 picks a free one). */
  readonly playerPort?: number;
  /** HTTP bind address for players (default 127.0.0.1: local players only). */
  readonly playerAddress?: string;
  /** Ask for the monitor role (rule 8). */
  readonly monitor?: boolean;
  /**
   * Join as a liberated peer (seed 000): the source sends it no chunks, the members feed it
   * as an external, it relays nothing; its player port is then a mount another cluster's
   * source can ingest (`p2psp source --input http://...`). Not with `monitor`.
   */
  readonly liberated?: boolean;
  readonly credential?: Uint8Array;
  /** Seed of the core's randomness (hello nonces); default from the clock. */
  readonly seed?: number;
  /**
   * Check signed chunks (a source started with `signChunks`): store, relay and play only
   * chunks whose digest the source signed. Only with such a source: against one that does
   * not sign, nothing would ever be verified.
   */
  readonly verifyChunks?: boolean;
  /** Extra core options (debt threshold, play-out delay...). */
  readonly core?: Partial<Omit<PeerConfig, 'source' | 'random'>>;
  /**
   * Joining again when the source removes this peer or falls silent (its players stay
   * connected): how long to keep trying (`timeoutMillis`, default 60 s; 0: stop at once)
   * and the backoff between attempts.
   */
  readonly rejoin?: RejoinOptions;
  /**
   * Detect the NAT before joining, on the UDP socket the stream will use, and report it in
   * the join request. Default true; false reports `core.nat` or `unknown`.
   */
  readonly natDetect?: boolean;
  /**
   * STUN server for the detection, `HOST:PORT` or an endpoint. Default: the source, which
   * answers plain STUN on its cluster port (mapped endpoint, open vs NAT); an RFC 5780
   * server (`p2psp nat serve --alternate-address`) also classifies the NAT.
   */
  readonly stun?: string | Endpoint;
  /**
   * Detection is abandoned after this long and the NAT reported `unknown` (the join goes
   * on). Default 3,000 ms against the source (a plain source answers in one round trip; one
   * with `--alternate-address` runs RFC 5780 discovery, retransmitting from 100 ms so that
   * silent filtering tests take about 2.2 s), 8,000 ms against `stun`.
   */
  readonly natDetectTimeoutMs?: number;
  /**
   * A player with more than this many bytes unsent (Node's write queue plus, on Linux, the
   * socket's kernel send queue) is dropped (default 1 MiB).
   */
  readonly maxPlayerQueueBytes?: number;
  /** A player this far behind the live edge is dropped (default 10 s). */
  readonly playerStallTimeoutMs?: number;
  /** Players served at once; more are answered 503 with Retry-After (default 64). */
  readonly maxPlayers?: number;
  /** Players served at once to one client address (default 8). */
  readonly maxPlayersPerAddress?: number;
  readonly logger?: HostLogger;
  /** Every core event (after logging), typed: switch on `event.name`. */
  readonly onEvent?: (event: PeerEvent) => void;
  /** Each chunk played (payload null when lost), with the monotonic time; for tests and benches. */
  readonly onPlay?: (chunkNumber: number, payload: Uint8Array | null, now: number) => void;
}

/** What `GET /status` answers, and what the CLI's status line shows. */
export interface PeerStatus {
  /** The role the source's accept gave (seed 000: `external`), the one asked for before. */
  readonly role: RejoiningPeerStats['role'];
  /** `rejoining` between two memberships (removed, or the source fell silent). */
  readonly state: RejoiningPeerStats['state'] | 'starting';
  readonly memberId: number;
  readonly source: string;
  readonly udp: string;
  readonly mediaType: string | null;
  /** Members of the cluster this peer knows (its neighbours and itself). */
  readonly members: number;
  readonly chunksPlayed: number;
  readonly chunksLost: number;
  readonly chunksReceived: number;
  readonly chunksRelayed: number;
  /** Neighbours reached on their private endpoint, behind this peer's own NAT (EMS). */
  readonly neighboursPrivate: number;
  readonly bytesPlayed: number;
  readonly bufferFill: number;
  /** Joins again, the attempts of the one in progress, and why the last membership ended. */
  readonly rejoin: RejoinView;
  /** The sources this join went through, `source` first: redirects of full sources (trees). */
  readonly path: readonly string[];
  readonly datagramsDropped: Readonly<Record<string, number>>;
  readonly players: number;
  /** Player connections dropped or refused, by reason. */
  readonly playersDropped: Readonly<Record<PlayerDropReason, number>>;
  readonly host: Readonly<HostCounters>;
}

export interface PeerHandle {
  /** The UDP endpoint the peer is bound to. */
  readonly udp: Endpoint;
  readonly source: Endpoint;
  /** The NAT report sent in the join request (detected, or given, or `unknown`). */
  readonly nat: NatReport;
  /** Where players open the stream, e.g. http://127.0.0.1:8080/stream. */
  readonly playerUrl: string;
  readonly playerPort: number;
  /** The membership running now (a new PeerCore after each rejoin). */
  readonly core: PeerCore;
  readonly counters: Readonly<HostCounters>;
  readonly fanOut: PlayerFanOut;
  status(): PeerStatus;
  /**
   * Joins the cluster again as a liberated peer (the source stops feeding it, it relays
   * nothing: it can feed a private cluster) or as a plain peer: a rejoin with no backoff,
   * its players stay connected and hear a gap (`rejoin-done` tells how long).
   */
  changeRole(role: 'peer' | 'liberated'): void;
  /** Resolves with the reason once the peer has stopped (stream end, expelled, stop()). */
  readonly done: Promise<string>;
  /** Leaves the cluster with goodbyes (rule 6) and closes everything. */
  stop(): Promise<void>;
}

async function resolveSource(
  source: string | Endpoint,
  flag: '--source' | '--stun' = '--source',
): Promise<Endpoint> {
  const { host, port } =
    typeof source === 'string'
      ? parseEndpoint(source, flag)
      : { host: source.address, port: source.port };
  try {
    return await lookupEndpoint({ host, port });
  } catch (error) {
    throw new PeerRuntimeError(
      'P2PSP_ERR_SOURCE_UNREACHABLE',
      `${flag} ${host}:${port}: the name ${host} does not resolve; check the spelling or use an IP address`,
      { cause: error },
    );
  }
}

/**
 * Runs a peer: joins the source, relays and plays the stream (the PeerCore on real
 * sockets), and serves it to players over HTTP. Resolves once the join is accepted and
 * the player port is up; rejects with a `PeerRuntimeError` naming the fix otherwise.
 */
export async function startPeer(options: PeerOptions): Promise<PeerHandle> {
  const logger = options.logger;
  const startedAt = performance.now();
  if (options.monitor && options.liberated) {
    throw new PeerConfigError(
      'role',
      'monitor and liberated both asked: a liberated peer relays nothing, so it cannot monitor; pick one',
    );
  }
  const role = options.liberated ? 'liberated' : options.monitor ? 'monitor' : 'peer';
  const source = await resolveSource(options.source);
  const stun = options.stun === undefined ? source : await resolveSource(options.stun, '--stun');
  let nat: NatReport = options.core?.nat ?? UNKNOWN_NAT_REPORT;
  const fanOut = new PlayerFanOut({
    createSyncPointFinder: (mediaType): SyncPointFinder | null => createSyncPointFinder(mediaType),
    ...(options.maxPlayerQueueBytes !== undefined
      ? { maxQueuedBytes: options.maxPlayerQueueBytes }
      : {}),
    ...(options.playerStallTimeoutMs !== undefined
      ? { stallTimeoutMs: options.playerStallTimeoutMs }
      : {}),
    ...(logger ? { logger } : {}),
  });

  let host: NodeHost<RejoiningPeerCore> | null = null;
  const shutdown = new RuntimeShutdown(logger);
  let joined = false;
  let mediaType: string | null = null;
  let settleJoin: ((error: Error | null) => void) | null = null;
  const joinSettled = new Promise<void>((resolve, reject) => {
    settleJoin = (error) => {
      settleJoin = null;
      if (error) reject(error);
      else resolve();
    };
  });

  let status: () => PeerStatus = () => {
    throw new Error('peer not started');
  };
  const { metrics, joinDuration } = createPeerMetrics({
    stats: () => (host === null ? null : safeStats(host.core)),
    get host() {
      return host?.counters ?? null;
    },
    players: () => fanOut.playerCount,
  });
  const playerPort = options.playerPort ?? 8080;
  let players: PlayerServer;
  try {
    players = await startPlayerServer({
      fanOut,
      port: playerPort,
      ...(options.playerAddress !== undefined ? { address: options.playerAddress } : {}),
      ...(options.maxPlayers !== undefined ? { maxPlayers: options.maxPlayers } : {}),
      ...(options.maxPlayersPerAddress !== undefined
        ? { maxPlayersPerAddress: options.maxPlayersPerAddress }
        : {}),
      status: () => status(),
      metrics: (response) => metrics.respond(response),
    });
  } catch (error) {
    throw explainListenError(error, PeerRuntimeError, {
      inUse: `--player-port ${playerPort} is already in use: stop the program using it, or pick another with --player-port (0 picks a free one)`,
      cannotListen: (code) =>
        `--player-port ${playerPort}: cannot listen there (${code}); pick an address of this machine and a port above 1023`,
    });
  }

  const udpPort = options.port ?? 0;
  const udpAddress = options.address ?? (isIP(source.address) === 6 ? '::' : '0.0.0.0');
  // The address this machine uses toward the source: the private endpoint told to the source
  // for peers behind the same NAT (EMS), more useful than a wildcard bind address.
  const privateAddress =
    udpAddress === '0.0.0.0' || udpAddress === '::' ? await localAddressToward(source) : null;
  try {
    host = await startNodeHost({
      udp: { address: udpAddress, port: udpPort },
      ...(logger ? { logger } : {}),
      ...(options.natDetect === false
        ? {}
        : {
            beforeCore: async (socket: Socket) => {
              const againstSource = options.stun === undefined;
              const timeout = options.natDetectTimeoutMs ?? (againstSource ? 3000 : 8000);
              nat = await detectPeerNat(socket, stun, timeout, againstSource, logger);
            },
          }),
      createCore: (binding) =>
        new RejoiningPeerCore(
          {
            ...options.core,
            nat,
            source,
            players: () => fanOut.playerCount,
            verifier: createVerifier(),
            ...(options.verifyChunks === true ? { sha256 } : {}),
            random: createRandom(
              options.seed ?? Math.floor(performance.timeOrigin + performance.now()),
            ),
            role,
            ...(options.credential ? { credential: options.credential } : {}),
            privateEndpoint: {
              address: privateAddress ?? binding.udp.address,
              port: binding.udp.port,
            },
          },
          options.rejoin,
        ),
      onStreamHeader: (type, header) => {
        mediaType = type;
        fanOut.setStreamHeader(type, header);
        if (!joined) {
          joined = true;
          joinDuration.observe((performance.now() - startedAt) / 1000);
          logger?.info(
            { source: formatEndpoint(source), mediaType: type, headerBytes: header.byteLength },
            'join-done',
          );
          settleJoin?.(null);
        }
      },
      onStreamMetadata: (chunkNumber, title, info) => {
        logger?.info({ title, chunkNumber }, 'stream-title');
        fanOut.setStreamMetadata(chunkNumber, title, info);
      },
      onPlay: (chunkNumber, payload) => {
        if (payload) fanOut.play(chunkNumber, payload);
        else fanOut.skip();
        options.onPlay?.(chunkNumber, payload, performance.now());
      },
      onEvent: (event) => {
        logger?.[event.level]({ ...event.fields }, event.name);
        // A gap follows (the old membership ended): players start again at a sync point.
        if (event.name === 'rejoin-wait' || event.name === 'role-change') fanOut.skip();
        options.onEvent?.(event);
      },
      onStopped: (reason) => {
        fanOut.end();
        settleJoin?.(
          new PeerRuntimeError(
            'P2PSP_ERR_JOIN_FAILED',
            // A refusal names its own fix (a credential, a full cluster): no reachability hint.
            reason.startsWith('join-refused')
              ? `the source at ${formatEndpoint(source)} refused the join (${reason})`
              : `could not join the source at ${formatEndpoint(source)} (${reason}): check --source, and that a p2psp source runs there and is reachable over TCP and UDP`,
          ),
        );
        shutdown.coreStopped(reason);
      },
    });
  } catch (error) {
    await players.close();
    throw explainListenError(error, PeerRuntimeError, {
      inUse: `--port ${udpPort} is already in use: pick another UDP port with --port, or 0 to pick a free one`,
      cannotListen: (code) =>
        `--port ${udpPort}: cannot listen there (${code}); pick an address of this machine and a port above 1023`,
    });
  }
  const runningHost = host;

  status = (): PeerStatus => {
    const stats = safeStats(runningHost.core);
    return {
      role: stats !== null && stats.memberId !== 0 ? stats.role : role,
      state: stats?.state ?? 'starting',
      memberId: stats?.memberId ?? 0,
      source: formatEndpoint(source),
      udp: formatEndpoint(runningHost.binding.udp),
      mediaType,
      members: (stats?.neighbours ?? 0) + 1,
      chunksPlayed: stats?.chunksPlayed ?? 0,
      chunksLost: stats?.chunksLost ?? 0,
      chunksReceived: (stats?.chunksFromSource ?? 0) + (stats?.chunksFromPeers ?? 0),
      chunksRelayed: stats?.chunksRelayed ?? 0,
      neighboursPrivate: stats?.neighboursPrivate ?? 0,
      bytesPlayed: stats?.bytesPlayed ?? 0,
      bufferFill: stats?.bufferFill ?? 0,
      rejoin: stats?.rejoin ?? { rejoins: 0, attempts: 0, lastCause: null },
      path: stats?.path ?? [formatEndpoint(source)],
      datagramsDropped: stats?.datagramsDropped ?? {},
      players: fanOut.playerCount,
      playersDropped: { ...fanOut.counters.dropped },
      host: runningHost.counters,
    };
  };

  shutdown.started(
    () => runningHost.close(),
    () => players.close(),
  );
  try {
    await joinSettled;
  } catch (error) {
    await shutdown.shutdown('join-fail');
    throw error;
  }

  return {
    udp: runningHost.binding.udp,
    source,
    nat,
    playerUrl: players.url,
    playerPort: players.port,
    get core() {
      return runningHost.core.session;
    },
    counters: runningHost.counters,
    fanOut,
    status: () => status(),
    changeRole(next) {
      runningHost.run((now) => runningHost.core.changeRole(next, now));
    },
    done: shutdown.done,
    async stop() {
      // Goodbyes to the source and the cluster (rule 6), then close.
      await runningHost.stop();
      await shutdown.shutdown('stopped');
    },
  };
}

/**
 * RFC 5780 discovery (plain binding against the source) on the stream socket, bounded in
 * time. Never fails the join: trouble means `unknown`. No answer at all reads
 * as `unknown` too, not `udp-blocked`: the source may simply not answer STUN, and the
 * join's own UDP hello is the real test.
 */
async function detectPeerNat(
  socket: Socket,
  server: Endpoint,
  timeout: number,
  quick: boolean,
  logger: HostLogger | undefined,
): Promise<NatReport> {
  try {
    const result = await detectNat({
      server,
      socket,
      timeout,
      software: 'p2psp peer',
      // Before a join, silence must not cost the RFC 8489 defaults (RFC 5780 section 4.4
      // tests that get no answer are retried, but from a shorter RTO).
      ...(quick ? { retransmission: { rto: 100 } } : {}),
    });
    const report = result.report.type === 'udp-blocked' ? UNKNOWN_NAT_REPORT : result.report;
    logger?.info(
      {
        stun: formatEndpoint(server),
        type: report.type,
        portStep: report.portStep,
        mappedEndpoint: report.mappedEndpoint ? formatEndpoint(report.mappedEndpoint) : null,
        ...(result.warning ? { warning: result.warning } : {}),
      },
      'nat-detect',
    );
    return report;
  } catch (error) {
    logger?.warn(
      { stun: formatEndpoint(server), message: String((error as Error).message ?? error) },
      'nat-detect-fail',
    );
    return UNKNOWN_NAT_REPORT;
  }
}

/** Which local address the system routes toward `remote` (a connected UDP socket sends nothing). */
async function localAddressToward(remote: Endpoint): Promise<string | null> {
  const socket = createSocket(isIP(remote.address) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(remote.port, remote.address, () => resolve());
    });
    return socket.address().address;
  } catch {
    return null;
  } finally {
    socket.close();
  }
}

function safeStats(core: RejoiningPeerCore): RejoiningPeerStats | null {
  try {
    return core.stats();
  } catch {
    return null;
  }
}
