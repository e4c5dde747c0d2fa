import {
  type Endpoint,
  type NatReport,
  type Random,
  type RequestedRole,
  type Sha256,
  UNKNOWN_NAT_REPORT,
  type Verifier,
} from '@p2psp/wire';
import { PeerConfigError } from './errors.js';

export interface PeerConfig {
  /**
   * The source's endpoint: TCP for the join, and the same address and port over UDP for
   * hello, chunks and goodbye. An IP literal (the runtime resolves names).
   */
  readonly source: Endpoint;
  /** Seeded randomness for hello nonces (cores never call Math.random). */
  readonly random: Random;
  /**
   * Checks the source's signatures (Ed25519 under the accept's `sourceKey`): the
   * membership credentials in other members' hellos, so a member the source did not list
   * to us can still become a neighbour, and a stranger cannot. The Node runtime passes
   * `@p2psp/host`'s `createVerifier()`. Default none: only listed members are neighbours.
   */
  readonly verifier?: Verifier;
  /**
   * SHA-256 for signed chunks: with `verifier`, every chunk is checked against the digests
   * the source signs (docs/security.md) before it is stored, relayed or played. The Node
   * runtime passes `@p2psp/host`'s `sha256`. Without both, chunks are taken unchecked.
   */
  readonly sha256?: Sha256;
  /**
   * `monitor` asks for the monitor role (rule 8); needs `credential` if the source set one.
   * `liberated` (seed 000): the source sends us no chunks, the members feed us as an external
   * and we relay nothing; we serve the stream to another cluster's source.
   */
  readonly role?: RequestedRole;
  /** Monitor credential; empty by default. */
  readonly credential?: Uint8Array;
  /** The local UDP socket's own address, told to the source for EMS. Default null. */
  readonly privateEndpoint?: Endpoint | null;
  /** NAT classification from @p2psp/nat. Default `unknown`. */
  readonly nat?: NatReport;
  /**
   * Rule 7 in time: a neighbour whose debt passes this much stream is dropped; converted to
   * chunks with the chunk interval of the join accept (rounded up), never below
   * DEBT_THRESHOLD_MIN_CHUNKS. Default 2,048 ms: P2PSP's 32 chunks at 128 kbit/s with
   * 1,024-byte chunks, which a fixed count shrank to 131 ms at 2 Mbit/s, so a stall of a
   * peer short of CPU or upload read as free riding.
   */
  readonly debtThresholdMillis?: number;
  /** Rule 7 as an exact number of chunks, instead of `debtThresholdMillis` (P2PSP used 32). */
  readonly debtThreshold?: number;
  /**
   * Target play-out delay in milliseconds: converted to chunks with the chunk interval of
   * the join accept (rounded up), then kept within [PLAYOUT_DELAY_MIN_CHUNKS, B/2]. Monitors
   * play with 3/4 of it with `repair`, 1/2 without (LRS: they notice losses first).
   * Default 500 ms (`PEER_DEFAULTS.playoutDelayMillis`; see playoutDelayFor for why).
   */
  readonly playoutDelayMillis?: number;
  /**
   * The play-out delay as an exact number of chunks (between the newest chunk received and
   * the chunk played), for every role, instead of `playoutDelayMillis`; must be below B.
   * For experiments that tie the delay to B (P2PSP played with the buffer half full).
   */
  readonly playoutDelayChunks?: number;
  /** From connect to join accept. Default 5,000 ms. */
  readonly joinTimeoutMillis?: number;
  /** Period of hello retries (to the source until hello-ack, and to members). Default 200 ms. */
  readonly helloRetryMillis?: number;
  /** Hellos sent to the source before giving up with P2PSP_ERR_HELLO_TIMEOUT. Default 25. */
  readonly helloAttempts?: number;
  /** Largest TCP frame accepted from the source (the join accept with header and list). Default 1 MiB. */
  readonly maxFrameBytes?: number;
  /**
   * Relays of one source chunk are spread over the expected time to the next source chunk,
   * but over at most this many chunk intervals, so they reach everyone well before play
   * time (rule 3). Default: half the play-out delay (B/4 for a peer, B/8 for a monitor).
   */
  readonly relaySpreadChunks?: number;
  /**
   * After the source's goodbye (stream end), how long to keep receiving relays still in
   * flight before the buffer is played out and the peer stops. Default 4 chunk intervals,
   * at least 50 ms.
   */
  readonly drainMillis?: number;
  /** Neighbours above which chunks from unknown endpoints teach no more (rule 4 safety). Default 4,096. */
  readonly maxNeighbours?: number;
  /**
   * Period of the stats-report sent to the source: the member's counters for the
   * dashboard, and a sign of life for the source's liveness timeout (rule 6). 0 turns it
   * off. Default 2,000 ms.
   */
  readonly reportIntervalMillis?: number;
  /**
   * Nothing from the source (no chunk, no keepalive) for this long while streaming: it died
   * or the path broke. The buffer is played out and the peer stops with
   * P2PSP_ERR_SOURCE_SILENT. 0 turns it off. Default 30,000 ms (sources send a keepalive
   * every 5 s to members they feed nothing).
   */
  readonly sourceTimeoutMillis?: number;
  /**
   * RMS-lite repair (chunk-repair.ts): a chunk still missing after the neighbours' relay
   * spread is asked for from one neighbour (bounded retries and budget), and neighbours'
   * requests are answered from the buffer. An extension beyond P2PSP's DBS. Default true.
   */
  readonly repair?: boolean;
  /**
   * With `repair`: a chunk the source's hop to us lost (we were its destination, rule 1, so
   * no neighbour has it) is asked of the source, which answers a chunk's destination only;
   * we relay the answer to everybody at once, as an LRS resend. Monitors complain instead
   * (LRS). Default false.
   */
  readonly repairFromSource?: boolean;
  /**
   * The players the driver serves now, read for each stats report (the source lists them as
   * the mount's listeners). A read-only view of the driver, like a clock the simulator
   * leaves out. Default: none (reports 0).
   */
  readonly players?: () => number;
}

export interface ResolvedPeerConfig {
  readonly source: Endpoint;
  readonly random: Random;
  readonly verifier: Verifier | null;
  readonly sha256: Sha256 | null;
  readonly role: RequestedRole;
  readonly credential: Uint8Array;
  readonly privateEndpoint: Endpoint | null;
  readonly nat: NatReport;
  readonly debtThresholdMillis: number;
  readonly debtThreshold: number | null;
  readonly playoutDelayMillis: number;
  readonly playoutDelayChunks: number | null;
  readonly joinTimeoutMillis: number;
  readonly helloRetryMillis: number;
  readonly helloAttempts: number;
  readonly maxFrameBytes: number;
  readonly relaySpreadChunks: number | null;
  readonly drainMillis: number | null;
  readonly maxNeighbours: number;
  readonly reportIntervalMillis: number;
  readonly sourceTimeoutMillis: number;
  readonly repair: boolean;
  readonly repairFromSource: boolean;
  readonly players: (() => number) | null;
}

export const PEER_DEFAULTS = {
  role: 'peer',
  debtThresholdMillis: 2048,
  playoutDelayMillis: 500,
  joinTimeoutMillis: 5000,
  helloRetryMillis: 200,
  helloAttempts: 25,
  maxFrameBytes: 1024 * 1024,
  maxNeighbours: 4096,
  reportIntervalMillis: 2000,
  sourceTimeoutMillis: 30_000,
  repair: true,
  repairFromSource: false,
} as const;

/** The options that are integers with a default in PEER_DEFAULTS. */
type IntegerOptionWithDefault = Exclude<
  keyof typeof PEER_DEFAULTS,
  'role' | 'repair' | 'repairFromSource'
>;

function integerIn(option: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PeerConfigError(
      option,
      `${option} must be an integer from ${min} to ${max}, got ${value}; omit it for the default`,
    );
  }
  return value;
}

/** Checks every option when the core is built, naming the option and the fix. */
export function resolvePeerConfig(config: PeerConfig): ResolvedPeerConfig {
  const source = config.source;
  if (
    typeof source?.address !== 'string' ||
    source.address.length === 0 ||
    !Number.isInteger(source.port) ||
    source.port < 1 ||
    source.port > 65535
  ) {
    throw new PeerConfigError(
      'source',
      `source must be an IP address and a port from 1 to 65535, got ${JSON.stringify(source)}; e.g. { address: '127.0.0.1', port: 4552 }`,
    );
  }
  if (typeof config.random?.next !== 'function') {
    throw new PeerConfigError(
      'random',
      'random is required: pass createRandom(seed) from @p2psp/wire',
    );
  }
  const role = config.role ?? PEER_DEFAULTS.role;
  if (role !== 'peer' && role !== 'monitor' && role !== 'liberated') {
    throw new PeerConfigError(
      'role',
      `role must be 'peer', 'monitor' or 'liberated', got ${String(role)}`,
    );
  }
  const optionalInteger = (option: string, value: number | undefined, min: number, max: number) =>
    value === undefined ? null : integerIn(option, value, min, max);
  // An integer option with a default: one line per option below (name, range), read as a table.
  const withDefault = (option: IntegerOptionWithDefault, min: number, max: number) =>
    integerIn(option, config[option] ?? PEER_DEFAULTS[option], min, max);
  const repair = config.repair ?? PEER_DEFAULTS.repair;
  const repairFromSource = config.repairFromSource ?? PEER_DEFAULTS.repairFromSource;
  for (const [option, value] of [
    ['repair', repair],
    ['repairFromSource', repairFromSource],
  ] as const) {
    if (typeof value !== 'boolean') {
      throw new PeerConfigError(option, `${option} must be true or false, got ${String(value)}`);
    }
  }
  if (config.playoutDelayMillis !== undefined && config.playoutDelayChunks !== undefined) {
    throw new PeerConfigError(
      'playoutDelayChunks',
      'playoutDelayMillis and playoutDelayChunks both given: set one of them (the delay in time, or in chunks)',
    );
  }
  if (config.debtThresholdMillis !== undefined && config.debtThreshold !== undefined) {
    throw new PeerConfigError(
      'debtThreshold',
      'debtThresholdMillis and debtThreshold both given: set one of them (the threshold in time, or in chunks)',
    );
  }
  const drainMillis = config.drainMillis;
  if (drainMillis !== undefined && !(Number.isFinite(drainMillis) && drainMillis >= 0)) {
    throw new PeerConfigError('drainMillis', `drainMillis must be >= 0, got ${drainMillis}`);
  }
  return {
    source: { address: source.address, port: source.port },
    random: config.random,
    verifier: config.verifier ?? null,
    sha256: config.sha256 ?? null,
    role,
    credential: config.credential ?? new Uint8Array(0),
    privateEndpoint: config.privateEndpoint ?? null,
    nat: config.nat ?? UNKNOWN_NAT_REPORT,
    debtThresholdMillis: withDefault('debtThresholdMillis', 1, 3_600_000),
    debtThreshold: optionalInteger('debtThreshold', config.debtThreshold, 1, 1_000_000),
    playoutDelayMillis: withDefault('playoutDelayMillis', 1, 3_600_000),
    playoutDelayChunks: optionalInteger('playoutDelayChunks', config.playoutDelayChunks, 1, 65535),
    joinTimeoutMillis: withDefault('joinTimeoutMillis', 1, 3_600_000),
    helloRetryMillis: withDefault('helloRetryMillis', 1, 60_000),
    helloAttempts: withDefault('helloAttempts', 1, 10_000),
    maxFrameBytes: withDefault('maxFrameBytes', 1024, 64 * 1024 * 1024),
    relaySpreadChunks: optionalInteger('relaySpreadChunks', config.relaySpreadChunks, 1, 65535),
    drainMillis: drainMillis ?? null,
    maxNeighbours: withDefault('maxNeighbours', 1, 1_000_000),
    reportIntervalMillis: withDefault('reportIntervalMillis', 0, 3_600_000),
    sourceTimeoutMillis: withDefault('sourceTimeoutMillis', 0, 24 * 3_600_000),
    repair,
    repairFromSource,
    players: typeof config.players === 'function' ? config.players : null,
  };
}

/**
 * The smallest debt threshold the time-based one gives, in chunks: P2PSP's 32. An honest
 * neighbour's debt swings by a few chunks per round (it relays its chunk a spread later than
 * we relay ours), more while it joins; below 128 kbit/s, 32 chunks are more than 2 s.
 */
export const DEBT_THRESHOLD_MIN_CHUNKS = 32;

/** Rule 7's threshold in chunks: `debtThreshold` as is, else `debtThresholdMillis` in chunks. */
export function debtThresholdFor(
  config: Pick<ResolvedPeerConfig, 'debtThreshold' | 'debtThresholdMillis'>,
  chunkIntervalMillis: number,
): number {
  if (config.debtThreshold !== null) return config.debtThreshold;
  const chunks = Math.ceil(config.debtThresholdMillis / Math.max(0.01, chunkIntervalMillis) - 1e-9);
  return Math.max(DEBT_THRESHOLD_MIN_CHUNKS, chunks);
}

/**
 * The smallest play-out delay the time-based default gives, in chunks. Below it the
 * pieces that run inside the delay stop fitting: relays are spread over half of it (rule 3),
 * and RMS-lite repair finds a gap after that spread plus GRACE_CHUNKS (2) and must still ask
 * at least MIN_LEAD_CHUNKS (2) before the play time (chunk-repair.ts): 8 = 4 + 2 + 2.
 */
export const PLAYOUT_DELAY_MIN_CHUNKS = 8;

/** The play-out delays a peer uses, fixed at the join accept. */
export interface PlayoutDelay {
  /** Our own delay in chunks. */
  readonly chunks: number;
  /** A non-monitor's delay with the same options: the neighbours' relay spread follows it. */
  readonly peerChunks: number;
  /** The delay asked for, in chunks, when it had to be changed to fit B (else null). */
  readonly requestedChunks: number | null;
}

/**
 * Rule 5 play-out delay. `playoutDelayChunks` is taken as is (below B). Otherwise the delay
 * is time-based: `playoutDelayMillis` (default 500 ms) in chunk intervals, rounded up, kept
 * within [PLAYOUT_DELAY_MIN_CHUNKS, B/2] (B/2: the old default, P2PSP's half-full buffer).
 * Why 500 ms: half of it (250 ms) is the relay spread, the other half covers the network's
 * latency and a repair; at 128 kbit/s with 1,024-byte chunks (64 ms) that is 8 chunks, the
 * minimum, where B/2 chunks was 1 s at B = 32 and 4 s at B = 128; join time on loopback is
 * about this delay (the goal: under 1 s). Monitors play earlier so their complaints and the
 * LRS resends come while the others still have time: 3/4 of the peers' delay with repair
 * (they complain once repair failed), 1/2 without (P2PSP: monitors run half the buffer).
 */
export function playoutDelayFor(options: {
  readonly bufferSize: number;
  readonly chunkIntervalMillis: number;
  readonly monitor: boolean;
  readonly repair: boolean;
  readonly playoutDelayMillis: number;
  readonly playoutDelayChunks: number | null;
}): PlayoutDelay {
  const { bufferSize, monitor } = options;
  if (options.playoutDelayChunks !== null) {
    const chunks = Math.min(options.playoutDelayChunks, bufferSize - 1);
    return {
      chunks,
      peerChunks: chunks,
      requestedChunks: chunks === options.playoutDelayChunks ? null : options.playoutDelayChunks,
    };
  }
  const half = Math.max(1, Math.floor(bufferSize / 2));
  const interval = Math.max(0.01, options.chunkIntervalMillis);
  const wanted = Math.ceil(options.playoutDelayMillis / interval - 1e-9);
  const peerChunks = Math.min(half, Math.max(PLAYOUT_DELAY_MIN_CHUNKS, wanted));
  const chunks = monitor
    ? Math.max(1, Math.floor((peerChunks * (options.repair ? 3 : 2)) / 4))
    : peerChunks;
  return { chunks, peerChunks, requestedChunks: null };
}

/**
 * Rule 3: the chunk intervals over which a member spreads the relays of one source chunk:
 * the `relaySpreadChunks` option, else half its play-out delay (the other half is left for
 * latency, jitter and a repair, so relays reach everyone well before they are played).
 */
export function relaySpreadChunksFor(
  relaySpreadChunks: number | null,
  playoutDelayChunks: number,
): number {
  return relaySpreadChunks ?? Math.max(1, Math.floor(playoutDelayChunks / 2));
}
