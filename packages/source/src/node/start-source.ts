import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  explainListenError,
  generateSigner,
  type HostCounters,
  type HostLogger,
  type NodeHost,
  RuntimeShutdown,
  sha256,
  startNodeHost,
} from '@p2psp/host';
import {
  createRandom,
  type Endpoint,
  formatEndpoint,
  type StreamInfo,
  UNKNOWN_STREAM_INFO,
} from '@p2psp/wire';
import type { SourceConfig } from '../core/source-config.js';
import { SourceCore } from '../core/source-core.js';
import type { SourceEvent } from '../core/source-events.js';
import type { SourceStats } from '../core/source-types.js';
import { type ClusterStun, startClusterStun } from './cluster-stun.js';
import { SourceRuntimeError } from './errors.js';
import { createFallback, type Fallback, type IngestState } from './fallback.js';
import type { IcecastStreamInfo } from './icecast-source-protocol.js';
import type { IngestHandlers, OpenedIngest } from './ingest.js';
import { openFileIngest } from './ingest-file.js';
import { openHttpIngest } from './ingest-http.js';
import { openPushIngest, type PushIngest, parseListenSource } from './ingest-push.js';
import { openStdinIngest } from './ingest-stdin.js';
import { createStreamPacer, detectStreamType, type StreamType } from './media.js';

export const DEFAULT_SOURCE_PORT = 4552;

export interface SourceOptions {
  /** An http(s) URL (Icecast-compatible), a file path, or `-` for stdin; or `listenSource`. */
  readonly input?: string;
  /**
   * `[HOST:]PORT/MOUNT`: take the stream from Icecast source clients (ffmpeg, Liquidsoap,
   * butt) pushing to this mount, as an Icecast server would; instead of `input`.
   */
  readonly listenSource?: string;
  /**
   * An ingest this process opened, instead of `input`: `createInProcessIngest`'s, fed by a
   * liberated peer of this process (a private cluster with no HTTP hop).
   */
  readonly ingest?: OpenedIngest;
  /** The password source clients send (user `source`); needed with `listenSource`. */
  readonly sourcePassword?: string;
  /** While the input is away, play this file (looped) instead of silence. */
  readonly fallback?: string;
  /** Bind address for the join port (TCP) and the cluster socket (UDP); default 0.0.0.0. */
  readonly address?: string;
  /** One port number for TCP joins and UDP (default 4552; 0 picks a free one). */
  readonly port?: number;
  /** Payload bytes per chunk (default 1,024). */
  readonly chunkSize?: number;
  /** Buffer size B in chunks (default 64). */
  readonly bufferSize?: number;
  /** Repeat a file input forever. */
  readonly loop?: boolean;
  /** Bits per second, to pace a file whose container carries no timing. */
  readonly bitrate?: number;
  /** Force the media type instead of detecting it. */
  readonly mediaType?: string;
  /** Ask an HTTP input for ICY metadata (titles go to the peers, stripped from the stream). */
  readonly icyMetadata?: boolean;
  /** The stream's title until the input gives one (ICY `StreamTitle`). */
  readonly title?: string;
  /** The station's info for players (`icy-name`...): set fields win over the input's. */
  readonly streamInfo?: { readonly [Field in keyof StreamInfo]?: StreamInfo[Field] | undefined };
  readonly maxMembers?: number;
  readonly seed?: number;
  /**
   * Signed chunks (docs/security.md): every run of chunks carries a digest the source signed,
   * and peers started with `verifyChunks` check it. Off by default for now: a peer that
   * verifies waits a run before it relays or plays, and with it the loopback suite's decode,
   * churn and debt checks failed (the open issues of the security note).
   */
  readonly signChunks?: boolean;
  /**
   * Membership credentials (docs/security.md): the source signs each member's credential,
   * and peers take members the source did not list on it, so the source introduces joiners
   * only to members behind filtering NATs. Off by default for now: in the NAT lab a peer
   * behind a port-restricted cone never learnt the other, and two peers behind one NAT
   * stopped reaching each other on their private endpoints. `signChunks` turns it on too.
   */
  readonly credentials?: boolean;
  /** Extra core options. */
  readonly core?: Partial<Omit<SourceConfig, 'random'>>;
  /**
   * A second IP address of this machine: the cluster port then serves RFC 5780 behaviour
   * discovery, so joiners learn their full NAT type from the source itself.
   * Needs `address` set to one IP. Default: plain STUN Binding only.
   */
  readonly stunAlternateAddress?: string;
  /** The RFC 5780 alternate port (with `stunAlternateAddress`). Default: the port + 1. */
  readonly stunAlternatePort?: number;
  /** Stdin replacement (tests, embedding). */
  readonly stdin?: Readable;
  /** HTTP ingest reconnect delays (defaults 500 ms doubling to 4 s, half of each random). */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  readonly logger?: HostLogger;
  readonly onEvent?: (event: SourceEvent) => void;
  /** Every ingested byte, in order, with the monotonic time; for tests and benches. */
  readonly onIngest?: (bytes: Uint8Array, now: number) => void;
}

export interface SourceStatus {
  readonly input: string;
  readonly endpoint: string;
  readonly mediaType: string;
  readonly members: number;
  readonly monitors: number;
  readonly chunksSent: number;
  readonly chunksDropped: number;
  readonly bytesIngested: number;
  readonly headerBytes: number;
  readonly joinsAccepted: number;
  readonly joinsRefused: number;
  readonly joinsTimedOut: number;
  readonly connectionsRejected: number;
  readonly datagramsDropped: Readonly<Record<string, number>>;
  readonly host: Readonly<HostCounters>;
  /** The input delivers (`live`), or `fallback` covers it while it is `stalled` or `lost`. */
  readonly ingest: { readonly state: IngestState; readonly fallback: Fallback['kind'] };
}

export interface SourceHandle {
  /** The join endpoint (TCP) and the cluster socket (UDP): the same address and port. */
  readonly endpoint: Endpoint;
  readonly mediaType: string;
  readonly core: SourceCore;
  readonly counters: Readonly<HostCounters>;
  status(): SourceStatus;
  /** With `listenSource`: what the source client announced (`ice-name`, ...), else null. */
  streamInfo(): IcecastStreamInfo | null;
  /** Resolves with the reason once the source has stopped (stream end or stop()). */
  readonly done: Promise<string>;
  /** Says goodbye to the cluster and closes everything. */
  stop(): Promise<void>;
}

function notMedia(description: string): SourceRuntimeError {
  return new SourceRuntimeError(
    'P2PSP_ERR_INGEST_NOT_MEDIA',
    `--input ${description}: not a media stream this source recognises (MP3, Ogg, WebM, AAC); pass --media-type TYPE (and --bitrate for a file) to send it anyway`,
  );
}

async function openIngest(
  options: SourceOptions,
): Promise<{ ingest: OpenedIngest; fileType: StreamType | null }> {
  const logger = options.logger;
  if (options.ingest !== undefined) return { ingest: options.ingest, fileType: null };
  if (options.listenSource !== undefined) {
    const listen = parseListenSource(options.listenSource);
    const ingest = await openPushIngest(listen, {
      password: options.sourcePassword ?? '',
      ...(logger ? { logger } : {}),
    });
    return { ingest, fileType: null };
  }
  const input = options.input ?? '';
  if (input === '-') {
    return { ingest: await openStdinIngest(options.stdin), fileType: null };
  }
  if (/^https?:\/\//i.test(input)) {
    const ingest = await openHttpIngest(input, {
      ...(options.icyMetadata !== undefined ? { icyMetadata: options.icyMetadata } : {}),
      ...(logger ? { logger } : {}),
      ...(options.reconnectInitialMs !== undefined
        ? { reconnectInitialMs: options.reconnectInitialMs }
        : {}),
      ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
    });
    return { ingest, fileType: null };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--input ${input}: only http:// and https:// URLs are supported; or give a file path, or - for stdin`,
    );
  }
  let fileType: StreamType | null = null;
  const ingest = await openFileIngest(input, {
    ...(options.loop !== undefined ? { loop: options.loop } : {}),
    ...(logger ? { logger } : {}),
    createPacer: (head) => {
      fileType = detectStreamType({
        contentType: null,
        fileName: input,
        head,
        forced: options.mediaType,
      });
      if (fileType === null) throw notMedia(input);
      return createStreamPacer(fileType.kind, { bitrate: options.bitrate, loop: options.loop });
    },
  });
  return { ingest, fileType };
}

function checkOptions(options: SourceOptions): void {
  const inputs = [options.input, options.listenSource, options.ingest];
  if (inputs.filter((given) => given !== undefined).length !== 1) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      'give the stream with --input URL|FILE|- or --listen-source [HOST:]PORT/MOUNT (one of them)',
    );
  }
  if (options.listenSource !== undefined && !options.sourcePassword) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      '--listen-source needs --source-password: the password source clients send (user source)',
    );
  }
  if (options.bitrate !== undefined && !(Number.isFinite(options.bitrate) && options.bitrate > 0)) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--bitrate ${options.bitrate} is not a positive number of bits per second; e.g. --bitrate 128000`,
    );
  }
}

/**
 * Runs a source: opens the ingest (URL, file or stdin), detects the media type, then runs
 * the SourceCore on real sockets, feeding it the ingest. Rejects with a
 * `SourceRuntimeError` naming the fix when the input or the port is not usable.
 */
export async function startSource(options: SourceOptions): Promise<SourceHandle> {
  checkOptions(options);
  const logger = options.logger;
  const { ingest, fileType } = await openIngest(options);
  const streamType =
    fileType ??
    detectStreamType({
      contentType: ingest.contentType,
      fileName: ingest.fileName,
      head: ingest.head,
      forced: options.mediaType,
    });
  if (streamType === null) {
    ingest.stop();
    throw notMedia(ingest.description);
  }
  const mediaType = streamType.mimeType;
  const fallback = await createFallback({
    kind: streamType.kind,
    // Called in a gap, so once the core runs.
    header: () => runningHost.core.header(),
    file: options.fallback,
    ...(logger ? { logger } : {}),
  }).catch((error: unknown) => {
    ingest.stop();
    throw error;
  });

  const port = options.port ?? DEFAULT_SOURCE_PORT;
  const address = options.address ?? '0.0.0.0';
  const shutdown = new RuntimeShutdown(logger);
  let host: NodeHost<SourceCore>;
  let clusterStun: ClusterStun | null = null;
  const alternateAddress = options.stunAlternateAddress;
  try {
    host = await startNodeHost({
      udp: { address, port },
      tcp: { address, port },
      sharePort: true,
      ...(logger ? { logger } : {}),
      ...(alternateAddress === undefined
        ? {}
        : {
            beforeCore: async (socket: Socket, binding: { readonly udp: Endpoint }) => {
              clusterStun = await startClusterStun(
                socket,
                binding.udp,
                alternateAddress,
                options.stunAlternatePort ?? binding.udp.port + 1,
              );
            },
            interceptDatagram: (bytes: Uint8Array, from: Endpoint) =>
              clusterStun?.handleClusterDatagram(bytes, from) ?? false,
          }),
      createCore: () =>
        new SourceCore({
          ...options.core,
          ...(options.credentials === true || options.signChunks === true
            ? { signer: options.core?.signer ?? generateSigner() }
            : {}),
          ...(options.signChunks === true ? { sha256: options.core?.sha256 ?? sha256 } : {}),
          random: createRandom(
            options.seed ?? Math.floor(performance.timeOrigin + performance.now()),
          ),
          mediaType,
          header: { capture: streamType.kind },
          ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
          ...(options.bufferSize !== undefined ? { bufferSize: options.bufferSize } : {}),
          ...(options.maxMembers !== undefined ? { maxMembers: options.maxMembers } : {}),
        }),
      onEvent: (event) => {
        logger?.[event.level]({ ...event.fields }, event.name);
        options.onEvent?.(event);
      },
      onStopped: (reason) => shutdown.coreStopped(reason),
    });
  } catch (error) {
    ingest.stop();
    throw explainListenError(error, SourceRuntimeError, {
      inUse: `--port ${port} is already in use (TCP or UDP): stop the other program (another source?) or pick another with --port (0 picks a free one)`,
      cannotListen: (code) =>
        `--address ${address} --port ${port}: cannot listen there (${code}); use an address of this machine (or 0.0.0.0) and a port above 1023`,
    });
  }
  const runningHost = host;
  const runningStun = clusterStun as ClusterStun | null;
  if (runningStun !== null) {
    logger?.info(
      { endpoints: runningStun.endpoints.map((endpoint) => formatEndpoint(endpoint)) },
      'stun-listen',
    );
  }

  shutdown.started(
    () => ingest.stop(),
    () => fallback.stop(),
    () => runningHost.close(),
    () => runningStun?.close(),
  );

  const toCore = fallback.around({
    data: (bytes, role) => runningHost.handle({ type: 'ingest-data', bytes, role }),
    restart: (reason) => {
      runningHost.handle({ type: 'ingest-restart', reason });
    },
    end: (reason) => {
      logger?.info({ input: ingest.description, reason }, 'ingest-end');
      // The core says goodbye (stream-end) to the cluster and then `stopped`.
      runningHost.handle({ type: 'ingest-end', reason });
    },
  });
  // The operator's fields win over what the input announces (a source client's ice-name).
  const operatorInfo = Object.fromEntries(
    Object.entries(options.streamInfo ?? {}).filter(([, value]) => value !== undefined),
  );
  const metadata: IngestHandlers['metadata'] = (update) =>
    runningHost.handle({
      type: 'ingest-metadata',
      ...(update.title !== undefined ? { title: update.title } : {}),
      ...(update.info !== undefined ? { info: { ...update.info, ...operatorInfo } } : {}),
    });
  if (options.title !== undefined || Object.keys(operatorInfo).length > 0) {
    metadata({
      ...(options.title !== undefined ? { title: options.title } : {}),
      info: UNKNOWN_STREAM_INFO,
    });
  }
  ingest.pipe(
    {
      ...toCore,
      metadata,
      // What the input gave, as it gave it (before framing; the fallback is not ingest).
      data: (bytes, role) => {
        options.onIngest?.(bytes, performance.now());
        toCore.data(bytes, role);
      },
    },
    mediaType,
  );
  logger?.info(
    {
      input: ingest.description,
      mediaType,
      fallback: fallback.kind,
      endpoint: formatEndpoint(runningHost.binding.udp),
      chunkSize: runningHost.core.config.chunkSize,
      bufferSize: runningHost.core.config.bufferSize,
    },
    'source-start',
  );

  const stats = (): SourceStats | null => {
    try {
      return runningHost.core.stats();
    } catch {
      return null;
    }
  };

  return {
    endpoint: runningHost.binding.udp,
    mediaType,
    core: runningHost.core,
    counters: runningHost.counters,
    done: shutdown.done,
    streamInfo: () => ('streamInfo' in ingest ? (ingest as PushIngest).streamInfo() : null),
    status(): SourceStatus {
      const current = stats();
      return {
        input: ingest.description,
        endpoint: formatEndpoint(runningHost.binding.udp),
        mediaType,
        members: current?.members ?? 0,
        monitors: current?.monitors ?? 0,
        chunksSent: current?.chunksSent ?? 0,
        chunksDropped: current?.chunksDropped ?? 0,
        bytesIngested: current?.bytesIngested ?? 0,
        headerBytes: current?.headerBytes ?? 0,
        joinsAccepted: current?.joinsAccepted ?? 0,
        joinsRefused: current?.joinsRefused ?? 0,
        joinsTimedOut: current?.joinsTimedOut ?? 0,
        connectionsRejected: current?.connectionsRejected ?? 0,
        datagramsDropped: current?.datagramsDropped ?? {},
        host: runningHost.counters,
        ingest: { state: fallback.state(), fallback: fallback.kind },
      };
    },
    async stop() {
      ingest.stop();
      fallback.stop();
      await runningHost.stop();
      await shutdown.shutdown('stopped');
    },
  };
}
