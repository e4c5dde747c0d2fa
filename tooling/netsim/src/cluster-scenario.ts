import type { NatBox, NatBoxType } from '@p2psp/nat/testing';
import {
  PEER_DEFAULTS,
  type PeerConfig,
  PeerCore,
  type PeerEvent,
  type PeerRole,
  playoutDelayFor,
} from '@p2psp/peer';
import { type SourceConfig, SourceCore, type SourceEvent } from '@p2psp/source';
import {
  type CoreOutput,
  decodeDatagram,
  type Endpoint,
  sameEndpoint,
  TYPE_NAMES,
} from '@p2psp/wire';
import { burstLinkModel } from './link-model.js';
import { simulatedSigner, simulatedVerifier } from './simulated-signing.js';
import { type SimulatedNode, Simulator, type TraceRecord } from './simulator.js';
import { type Distribution, distribution, MillisecondHistogram } from './statistics.js';
import { streamOffsetOf } from './stream-content.js';
import { StreamGenerator } from './stream-generator.js';

/** How the source keys complaints (@p2psp/cluster's `ComplaintKeying`). */
export type ComplaintKeying = 'endpoint' | 'ip';

/** Parameters of one simulated cluster run (what `p2psp sim` exposes as flags). */
export interface ClusterScenarioOptions {
  readonly seed: number;
  /** Peers that join at the start, monitors included. */
  readonly peers: number;
  /** The first `monitors` joiners ask for the monitor role (rule 8). */
  readonly monitors: number;
  /** B, in chunks (rule 5: at least the cluster size). */
  readonly bufferSize: number;
  /** Simulated time of the whole run, in seconds. */
  readonly seconds: number;
  /** Stream rate in bits per second. */
  readonly bitrate: number;
  /** Chunk payload bytes (P2PSP: 1,024). */
  readonly chunkSize: number;
  /** One-way delay between any two nodes (half on each access link), ms. */
  readonly latencyMs: number;
  /**
   * Null: every path takes `latencyMs`. Else paths differ: each node's access links take a
   * delay drawn uniformly in [latencyMs / 2, latencyMaxMs / 2], so a path (two access
   * links) takes between `latencyMs` and `latencyMaxMs`.
   */
  readonly latencyMaxMs: number | null;
  /** Extra uniform delay per datagram, [0, jitterMs), ms. */
  readonly jitterMs: number;
  /** Loss probability of a path between two nodes (split over both access links). */
  readonly loss: number;
  /**
   * Null: `loss` is independent per datagram. Else it comes in bursts of this mean length,
   * in datagrams, on each access link (Gilbert-Elliott, `burstLinkModel`); the mean stays
   * `loss`.
   */
  readonly burstLength: number | null;
  /** Peers' upload capacity in kbit/s (null: unlimited). */
  readonly uploadKbps: number | null;
  /** The source's upload capacity in kbit/s (null: unlimited). */
  readonly sourceUploadKbps: number | null;
  /** Bytes a node's upload queue holds before dropping (only with a capacity). */
  readonly uploadQueueBytes: number;
  /** Peers join spread evenly over this window from t = 0. */
  readonly joinWindowMs: number;
  /** Polite leaves per simulated minute, each replaced by a new joiner (constant size). */
  readonly churnPerMinute: number;
  /** Peers (not monitors) that receive but never relay: the node model drops their relays. */
  readonly freeRiders: number;
  /** Fraction of the (non-monitor) peers that crash without goodbye at `crashAtMs`. */
  readonly crashFraction: number;
  readonly crashAtMs: number;
  /** Peers behind NAT boxes (one box each) and the boxes' type. */
  readonly natFraction: number;
  readonly natType: NatBoxType;
  /**
   * Peers behind a box report its type, as an RFC 5780 detection would (the CLI's
   * `--alternate-address` on the source); false: `unknown`, what a plain STUN server lets
   * them tell. Admission makes a random-port symmetric one an external peer (seed 000).
   */
  readonly natDetected: boolean;
  /**
   * Rule switches. `lrs`: lost chunk recovery (the source resends a chunk every
   * monitor lost, through a monitor); on by default, as in the source core (false with
   * `monitors: 0`). `acs`: adaptive chunk scheduling (weighted round
   * robin by measured reliability). `complaintsBy`: the complaint ledger's key, the
   * member's UDP endpoint (default) or its public IP address (seed 000).
   */
  readonly lrs: boolean;
  readonly acs: boolean;
  readonly complaintsBy: ComplaintKeying;
  /**
   * The source drops a member it has heard nothing from (not even the peer's periodic
   * stats-report) for this many chunk times (rule 6). `auto`: B chunk times, but at least
   * three of the peers' report intervals (so one or two lost reports never drop a live
   * member). null: never (members vanish only by goodbye or complaints).
   */
  readonly memberTimeoutChunks: number | 'auto' | null;
  /** Loss on each of the source's two access links (on top of `loss`): LRS experiments. */
  readonly sourceLinkLoss: number;
  /** Non-monitor, non-free-rider peers whose upload capacity is `slowUploadKbps` (ACS). */
  readonly slowPeers: number;
  readonly slowUploadKbps: number | null;
  /**
   * Each free rider sits behind a NAT box of its own of this type (`symmetric-random`: a
   * new public port for every new mapping). null: public like the others.
   */
  readonly freeRiderNat: NatBoxType | null;
  /**
   * A free rider leaves politely and a fresh process rejoins from behind the same NAT box
   * this often (a new socket: a new mapping, so a new endpoint at the source). null: never.
   */
  readonly freeRiderRejoinMs: number | null;
  /**
   * Count plays only from this instant (steady-state measurements skip the joins); plays
   * before it neither count as due nor as lost. Default 0.
   */
  readonly measureFromMs: number;
  /**
   * Chunks between newest received and played, for every role. Null: B/2 for peers and
   * 3B/8 for monitors (B/4 without repair), P2PSP's setting, which the experiments vary B
   * against; the peer core's own default (about 500 ms) needs `peerOptions.playoutDelayMillis`.
   */
  readonly playoutDelayChunks: number | null;
  /**
   * Peer option: relays of a source chunk are spread over at most this many chunk intervals
   * (null: the core's default, B/4). A large value spreads them over the whole round, N
   * intervals, as P2PSP's peers pace (rule 3).
   */
  readonly relaySpreadChunks: number | null;
  /**
   * Extra SourceCore / PeerCore options (rule switches such as LRS, ACS, complaint keying,
   * thresholds) passed through unchanged; the scenario's own settings win on overlap.
   */
  readonly sourceOptions: Partial<Omit<SourceConfig, 'random'>>;
  readonly peerOptions: Partial<Omit<PeerConfig, 'random' | 'source'>>;
  /**
   * The source holds a key (the simulator's stand-in for Ed25519, `simulatedSigner`) and
   * the peers check it: membership credentials, as every Node source and peer runs. false:
   * a source that signs nothing (a trusted LAN), which introduces every joiner to every
   * member. Default true.
   */
  readonly credentials: boolean;
  /** Also trace the cores' debug events (large). */
  readonly traceDebug: boolean;
  readonly onTrace: ((record: TraceRecord) => void) | null;
}

export const CLUSTER_DEFAULTS: Omit<ClusterScenarioOptions, 'peers' | 'bufferSize'> = {
  seed: 1,
  monitors: 1,
  seconds: 30,
  bitrate: 128_000,
  chunkSize: 1024,
  latencyMs: 5,
  latencyMaxMs: null,
  jitterMs: 0,
  loss: 0,
  burstLength: null,
  uploadKbps: null,
  sourceUploadKbps: null,
  uploadQueueBytes: 64 * 1024,
  joinWindowMs: 1000,
  churnPerMinute: 0,
  freeRiders: 0,
  crashFraction: 0,
  crashAtMs: 0,
  natFraction: 0,
  natType: 'port-restricted-cone',
  natDetected: false,
  lrs: true,
  acs: false,
  complaintsBy: 'endpoint',
  memberTimeoutChunks: 'auto',
  sourceLinkLoss: 0,
  slowPeers: 0,
  slowUploadKbps: null,
  freeRiderNat: null,
  freeRiderRejoinMs: null,
  measureFromMs: 0,
  playoutDelayChunks: null,
  relaySpreadChunks: null,
  sourceOptions: {},
  peerOptions: {},
  credentials: true,
  traceDebug: false,
  onTrace: null,
};

/** A problem with the parameters: names the option and the fix (exit non-zero in the CLI). */
export class ScenarioOptionError extends Error {
  readonly code = 'P2PSP_ERR_SIM_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScenarioOptionError';
  }
}

/** Checks a full option set; throws ScenarioOptionError naming the flag and the fix. */
export function validateClusterOptions(options: ClusterScenarioOptions): void {
  const fail = (option: string, message: string): never => {
    throw new ScenarioOptionError(option, `--${option}: ${message}`);
  };
  const integer = (option: string, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min)
      fail(option, `must be an integer >= ${min}, got ${value}`);
  };
  const nonNegative = (option: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0) fail(option, `must be a number >= 0, got ${value}`);
  };
  integer('peers', options.peers, 1);
  integer('monitors', options.monitors, 0);
  integer('buffer', options.bufferSize, 2);
  integer('free-riders', options.freeRiders, 0);
  integer('seed', options.seed, 0);
  nonNegative('seconds', options.seconds);
  nonNegative('latency', options.latencyMs);
  nonNegative('jitter', options.jitterMs);
  nonNegative('churn', options.churnPerMinute);
  nonNegative('measure-from', options.measureFromMs);
  if (!(options.seconds > 0)) fail('seconds', 'must be > 0');
  if (!(options.bitrate > 0))
    fail('bitrate', `must be > 0 bits per second, got ${options.bitrate}`);
  if (!(options.loss >= 0 && options.loss < 1)) {
    fail('loss', `is a probability: use a number in [0, 1), e.g. 0.01 for 1%, got ${options.loss}`);
  }
  if (options.latencyMaxMs !== null && !(options.latencyMaxMs >= options.latencyMs)) {
    fail(
      'latency',
      `a range needs its maximum >= its minimum, got ${options.latencyMs}-${options.latencyMaxMs}`,
    );
  }
  if (options.burstLength !== null && !(options.burstLength >= 1)) {
    fail(
      'burst',
      `is a mean burst length in datagrams: use a number >= 1, got ${options.burstLength}`,
    );
  }
  for (const [option, value] of [
    ['upload-kbps', options.uploadKbps],
    ['source-upload-kbps', options.sourceUploadKbps],
  ] as const) {
    if (value !== null && !(value > 0))
      fail(option, `must be > 0 kbit/s (omit it for unlimited), got ${value}`);
  }
  if (options.monitors > options.peers) {
    fail(
      'monitors',
      `${options.monitors} monitors but only ${options.peers} peers: monitors are peers; use --monitors <= --peers`,
    );
  }
  if (options.freeRiders > options.peers - options.monitors) {
    fail(
      'free-riders',
      `${options.freeRiders} free riders but only ${options.peers - options.monitors} non-monitor peers; use --free-riders <= --peers minus --monitors`,
    );
  }
  if (options.bufferSize < options.peers) {
    fail(
      'buffer',
      `B = ${options.bufferSize} is smaller than the cluster (${options.peers} peers): a chunk may need a whole round of relays to arrive, so B must be at least N (DBS rule 5); use --buffer ${options.peers} or more (2N-3N plays without loss)`,
    );
  }
  if (!(options.crashFraction >= 0 && options.crashFraction <= 1)) {
    fail('crash-fraction', `must be in [0, 1], got ${options.crashFraction}`);
  }
  if (!(options.natFraction >= 0 && options.natFraction <= 1)) {
    fail('nat-fraction', `must be in [0, 1], got ${options.natFraction}`);
  }
  if (options.chunkSize % 8 !== 0) fail('chunk-size', 'must be a multiple of 8 bytes');
  validateRuleOptions(options, fail);
  if (options.playoutDelayChunks !== null && options.playoutDelayChunks >= options.bufferSize) {
    fail('playout-delay', `must be below --buffer (${options.bufferSize})`);
  }
  // Nobody would play: the play-out delay (the peer core's, about 500 ms by default)
  // outlasts the run.
  const chunkMs = (options.chunkSize * 8 * 1000) / options.bitrate;
  const playoutChunks = playoutDelayFor({
    bufferSize: options.bufferSize,
    chunkIntervalMillis: chunkMs,
    monitor: false,
    repair: options.peerOptions.repair ?? PEER_DEFAULTS.repair,
    playoutDelayMillis: options.peerOptions.playoutDelayMillis ?? HALF_BUFFER_DELAY_MILLIS,
    playoutDelayChunks:
      options.playoutDelayChunks ?? options.peerOptions.playoutDelayChunks ?? null,
  }).chunks;
  const firstPlayMs = options.joinWindowMs + playoutChunks * chunkMs;
  if (firstPlayMs >= options.seconds * 1000) {
    fail(
      'seconds',
      `the run lasts ${options.seconds} s but the last peer starts playing after about ${(firstPlayMs / 1000).toFixed(1)} s ` +
        `(joins over ${options.joinWindowMs / 1000} s, then ${playoutChunks} chunks of ${chunkMs.toFixed(0)} ms buffered); ` +
        `use --seconds ${Math.ceil(firstPlayMs / 1000) + 10} or more, or a smaller --buffer / --playout-delay`,
    );
  }
}

/**
 * The simulator's default play-out delay: a time no B/2 stays under, so the peer core's
 * time-based delay (playoutDelayFor) is capped at B/2 (monitors 3/4 of it). The
 * experiments measure loss against B with P2PSP's half-full buffer; at 1% loss on every
 * link a 500 ms delay gives 50 peers a max CLR of 1.1-1.8% (docs/simulation.md).
 */
const HALF_BUFFER_DELAY_MILLIS = 3_600_000;

/** The P2PSP peer core's default stats-report period (the source's sign of life). */
const DEFAULT_REPORT_INTERVAL_MS = 2000;

/** Checks the issue-5 rule switches and the combinations that cannot work. */
function validateRuleOptions(
  options: ClusterScenarioOptions,
  fail: (option: string, message: string) => never,
): void {
  if (!['endpoint', 'ip'].includes(options.complaintsBy)) {
    fail('complaints-by', `must be endpoint or ip, got ${String(options.complaintsBy)}`);
  }
  // Only monitors complain (rule 8), and LRS and ACS feed on complaints.
  if (options.monitors === 0) {
    if (options.lrs) {
      fail(
        'lrs',
        'LRS resends a chunk once every monitor reported it lost, and there is no monitor; use --monitors 1 or more, or turn LRS off (lrs: false)',
      );
    }
    if (options.acs) {
      fail(
        'acs',
        'ACS weights members by the complaints monitors send about their chunks, and there is no monitor; use --monitors 1 or more',
      );
    }
    if (options.complaintsBy !== 'endpoint') {
      fail(
        'complaints-by',
        'complaints come from monitors only (rule 8), and there is no monitor; use --monitors 1 or more',
      );
    }
  }
  if (!(options.sourceLinkLoss >= 0 && options.sourceLinkLoss < 1)) {
    fail('source-loss', `is a probability in [0, 1), got ${options.sourceLinkLoss}`);
  }
  if (!Number.isInteger(options.slowPeers) || options.slowPeers < 0) {
    fail('slow-peers', `must be an integer >= 0, got ${options.slowPeers}`);
  }
  if (options.slowPeers > options.peers - options.monitors - options.freeRiders) {
    fail(
      'slow-peers',
      `${options.slowPeers} slow peers but only ${options.peers - options.monitors - options.freeRiders} peers are neither monitors nor free riders`,
    );
  }
  if (options.slowPeers > 0 && options.slowUploadKbps === null) {
    fail('slow-upload-kbps', 'slow peers need an upload capacity: e.g. --slow-upload-kbps 64');
  }
  if (options.slowUploadKbps !== null && !(options.slowUploadKbps > 0)) {
    fail('slow-upload-kbps', `must be > 0 kbit/s, got ${options.slowUploadKbps}`);
  }
  if (options.freeRiderRejoinMs !== null) {
    if (!(options.freeRiderRejoinMs >= 1000)) {
      fail(
        'free-rider-rejoin',
        `must be at least 1 s (a join takes a round trip and a hello), got ${options.freeRiderRejoinMs / 1000} s`,
      );
    }
    if (options.freeRiders === 0) fail('free-rider-rejoin', 'needs --free-riders 1 or more');
  }
  if (options.freeRiderNat !== null && options.freeRiders === 0) {
    fail('free-rider-nat', 'needs --free-riders 1 or more');
  }
  const timeout = options.memberTimeoutChunks;
  if (timeout !== null && timeout !== 'auto') {
    if (!Number.isInteger(timeout) || timeout < 1) {
      fail('member-timeout', `must be a whole number of chunk times >= 1, got ${timeout}`);
    }
    const chunkMs = (options.chunkSize * 8 * 1000) / options.bitrate;
    const reportMs = options.peerOptions.reportIntervalMillis ?? DEFAULT_REPORT_INTERVAL_MS;
    if (reportMs === 0) {
      fail(
        'member-timeout',
        'the peers send no stats-report (reportIntervalMillis 0), so the source would hear nothing from live members; omit --member-timeout or use 0 to turn it off',
      );
    }
    if (timeout * chunkMs < 2 * reportMs) {
      fail(
        'member-timeout',
        `${timeout} chunk times are ${Math.round(timeout * chunkMs)} ms, less than two of the peers' stats reports (every ${reportMs} ms): live members would be dropped; use --member-timeout ${Math.ceil((2 * reportMs) / chunkMs)} or more`,
      );
    }
  }
}

/** The source's liveness timeout in ms for these options (see `memberTimeoutChunks`). */
export function memberTimeoutMillis(options: ClusterScenarioOptions): number | null {
  const timeout = options.memberTimeoutChunks;
  if (timeout === null) return null;
  const chunkMs = (options.chunkSize * 8 * 1000) / options.bitrate;
  if (timeout !== 'auto') return timeout * chunkMs;
  const reportMs = options.peerOptions.reportIntervalMillis ?? DEFAULT_REPORT_INTERVAL_MS;
  if (reportMs === 0) return null;
  return Math.max(options.bufferSize * chunkMs, 3 * reportMs);
}

export interface Expulsion {
  readonly time: number;
  /** The simulated peer's name (`peer-0007`), or its endpoint when it cannot be matched. */
  readonly member: string;
  readonly memberId: number | null;
  readonly reason: string;
  readonly freeRider: boolean;
  /** When this member joined (its latest join, for a rejoining free rider). */
  readonly joinedAt: number | null;
  /**
   * Chunks the source gave this member before expelling it: the rounds it lasted under
   * round robin (rule 1: one chunk per member per round).
   */
  readonly chunksSent: number | null;
  /** Complaints charged to it over its life (rule 8). */
  readonly complaints: number | null;
}

/** A member the source dropped because it fell silent (rule 6), not for complaints. */
export interface SilentDrop {
  readonly time: number;
  readonly member: string;
  readonly memberId: number;
  readonly crashed: boolean;
  /** Time from its crash to the drop, ms (null: it did not crash). */
  readonly afterCrashMs: number | null;
}

/** How the cluster handled the crashes (`crashFraction`). */
export interface CrashReport {
  readonly crashAt: number;
  readonly crashed: readonly string[];
  /** 2B chunk times, the bound for dropping the vanished, ms. */
  readonly boundMs: number;
  /** The source's drops of crashed members: time after the crash, ms. */
  readonly sourceDropMs: Distribution;
  /** Crashed members the source had not dropped 2B chunk times after the crash. */
  readonly sourceMissed: readonly string[];
  /** Survivor-side drops of a crashed neighbour (its `peer-leave`): time after the crash, ms. */
  readonly peerDropMs: Distribution;
  /** (survivor, crashed) pairs where the survivor still listed the crashed one at the bound. */
  readonly peersStillListing: number;
  /** Survivors' chunk loss ratio in the 10 s after the crash. */
  readonly survivorLossAfterCrash: Distribution;
}

/** What the rule switches did, for checking a run from the outside. */
export interface ClusterHealth {
  /** Free riders the source expelled, and those it did not (by name). */
  readonly freeRidersExpelled: readonly string[];
  readonly freeRidersNotExpelled: readonly string[];
  /** Honest members (not free riders, not crashed) the source expelled. */
  readonly honestExpelled: readonly string[];
  /** Chunks given before expulsion (= rounds under round robin), over expelled free riders. */
  readonly roundsToExpulsion: Distribution;
  readonly complaintsReceived: number;
  /** Complaints the source did not charge, by reason (not-monitor, duplicate...). */
  readonly complaintsIgnored: Readonly<Record<string, number>>;
  /** Chunks the source resent through a monitor (LRS). */
  readonly chunksRecovered: number;
  /** Chunk loss ratio of the monitors, and of the honest peers that are not monitors. */
  readonly monitorChunkLossRatio: Distribution;
  readonly peerChunkLossRatio: Distribution;
  /** Share of the source's chunks each slow peer got, and each other fed peer (ACS). */
  readonly slowPeers: readonly string[];
  readonly slowPeerSourceShare: Distribution;
  readonly otherPeerSourceShare: Distribution;
  /** The source's liveness timeout in ms (null: off). */
  readonly memberTimeoutMs: number | null;
  readonly silentDrops: readonly SilentDrop[];
  readonly crashes: CrashReport | null;
}

/** What happened to one peer during the run. */
export interface PeerReport {
  readonly name: string;
  readonly monitor: boolean;
  readonly freeRider: boolean;
  readonly slow: boolean;
  readonly behindNat: boolean;
  /** The role the source gave it: monitor, peer, or external (seed 000: fed by the members). */
  readonly role: PeerRole;
  /** The member id the source gave it (null: never joined). */
  readonly memberId: number | null;
  /** Chunks it got from the source (rule 1; ACS gives unreliable members fewer). */
  readonly chunksFromSource: number;
  readonly joinedAt: number;
  readonly leftAt: number | null;
  readonly crashed: boolean;
  /** Join to first played chunk, ms (null: never played). */
  readonly startupDelayMs: number | null;
  /** Chunks due since the first played one, and those played as missing. */
  readonly chunksDue: number;
  readonly chunksLost: number;
  readonly chunkLossRatio: number | null;
  /** Played chunks whose content was not an intact piece of the stream, or went backwards. */
  readonly chunksCorrupt: number;
  readonly chunksOutOfOrder: number;
  /** Mean time from a chunk's ingest at the source to its play-out here, ms. */
  readonly playoutDelayMs: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface ClusterSummary {
  readonly parameters: Omit<ClusterScenarioOptions, 'onTrace'>;
  readonly peersMeasured: number;
  /** Per-peer chunk loss ratio over the peers that played (ratios, not percent). */
  readonly chunkLossRatio: Distribution;
  /** The same over peers that stayed to the end and were neither free riders nor crashed. */
  readonly honestChunkLossRatio: Distribution;
  readonly startupDelayMs: Distribution;
  /** Over peers: each one's mean time from ingest to play-out. */
  readonly playoutDelayMs: Distribution;
  /** Over every chunk played (measured, by any peer): its time from ingest to play-out. */
  readonly chunkDelayMs: Distribution;
  /** Source UDP payload bytes sent / stream bytes ingested (P2PSP: about 1). */
  readonly sourceUploadRatio: number;
  /**
   * The same from `measureFromMs` on: without the joins' one-time cost (hello-acks, lists,
   * introductions, external notices), what the source spends in a running cluster.
   */
  readonly sourceUploadRatioMeasured: number;
  /** `sourceUploadRatio` by message type (the whole run; types the source never sent left out). */
  readonly sourceUploadByType: Readonly<Record<string, number>>;
  /** Chunk payload bytes the source sent / stream bytes ingested (rule 1: about 1). */
  readonly sourceChunkRatio: number;
  /** Mean over relaying peers of UDP payload bytes sent / stream bytes produced while present. */
  readonly peerUploadRatio: number;
  readonly joins: number;
  readonly leaves: number;
  readonly crashes: number;
  readonly freeRiders: readonly string[];
  /** Members the source expelled: the peer's name, its member id, the reason given. */
  readonly expulsions: readonly Expulsion[];
  /** Issue 5: free riders caught, crashes detected, LRS and ACS figures. */
  readonly health: ClusterHealth;
  readonly clusterSize: { readonly min: number; readonly max: number; readonly final: number };
  /** Seed 000: external peers at the end, and what the source spent on them. */
  readonly externals: {
    readonly final: number;
    readonly onboarded: number;
    readonly noticesSent: number;
    readonly peerListsSent: number;
    readonly peerListRequestsLimited: number;
    /** Bytes of the peer lists the source sent on request, per second of the run. */
    readonly peerListBytesPerSecond: number;
    /** Times externals found members silent and re-onboarded (a peer-list request each). */
    readonly reonboardings: number;
  };
  readonly chunksCorrupt: number;
  readonly chunksOutOfOrder: number;
  readonly datagramsDelivered: number;
  readonly datagramsDropped: Readonly<Record<string, number>>;
  readonly eventsProcessed: number;
  readonly traceHash: string;
}

export interface ClusterRun {
  readonly summary: ClusterSummary;
  readonly peers: readonly PeerReport[];
  /** Cluster size sampled each simulated second: [time ms, members at the source]. */
  readonly clusterSizeOverTime: readonly (readonly [number, number])[];
}

const SOURCE_PORT = 4552;
const MONITOR_CREDENTIAL = new TextEncoder().encode('netsim-monitor-credential');

class PeerRecord {
  firstPlayAt: number | null = null;
  memberId: number | null = null;
  slow = false;
  chunksFromSource = 0;
  /** Plays in the 10 s after the crashes. */
  afterCrashDue = 0;
  afterCrashLost = 0;
  /** Member ids this peer dropped (its `peer-leave` events), and when. */
  readonly departures = new Map<number, number>();
  due = 0;
  lost = 0;
  corrupt = 0;
  outOfOrder = 0;
  lastOffset = -1;
  playoutDelaySum = 0;
  playoutDelayCount = 0;
  leftAt: number | null = null;
  crashed = false;
  /** The simulated host (a rejoining free rider's incarnations share it). */
  host = '';
  node!: SimulatedNode;
  constructor(
    readonly name: string,
    readonly monitor: boolean,
    readonly freeRider: boolean,
    readonly joinedAt: number,
  ) {}
}

/** Core event fields for a trace record; a field named like a record key is prefixed. */
const RESERVED_KEYS = new Set(['time', 'type', 'node', 'name', 'level']);
function safeFields(
  fields: Readonly<Record<string, string | number | boolean | null>>,
): Record<string, string | number | boolean | null> {
  const result: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(fields)) {
    result[RESERVED_KEYS.has(key) ? `field-${key}` : key] = value;
  }
  return result;
}

/** Whether an outgoing datagram is a chunk relay (a chunk to anyone but the source). */
function isRelay(source: Endpoint): (to: Endpoint, bytes: Uint8Array) => boolean {
  return (to, bytes) => {
    if (sameEndpoint(to, source)) return false;
    const decoded = decodeDatagram(bytes);
    return decoded.ok && decoded.message.type === 'chunk';
  };
}

/**
 * Runs one cluster: a source fed at `bitrate`, `peers` peers joining over `joinWindowMs`,
 * churn, free riders and crashes as configured, all unmodified cores on the simulated
 * network. Returns the summary the CLI prints and the per-peer reports experiments plot.
 */
export function runClusterScenario(
  partial: Partial<ClusterScenarioOptions> & Pick<ClusterScenarioOptions, 'peers' | 'bufferSize'>,
): ClusterRun {
  const options: ClusterScenarioOptions = { ...CLUSTER_DEFAULTS, ...partial };
  validateClusterOptions(options);
  const durationMs = options.seconds * 1000;
  const sim = new Simulator({ seed: options.seed, onTrace: options.onTrace });
  const random = sim.networkRandom;
  // Path delay and loss split over the two access links a datagram crosses.
  const accessLoss = 1 - Math.sqrt(1 - options.loss);
  const lossOf = (loss: number) =>
    options.burstLength === null
      ? { loss, burst: null }
      : { loss: 0, burst: burstLinkModel(loss, options.burstLength) };
  const { latencyMaxMs } = options;
  const accessLatency = () =>
    latencyMaxMs === null
      ? options.latencyMs / 2
      : (options.latencyMs + random.next() * (latencyMaxMs - options.latencyMs)) / 2;
  const peerLink = (kbps: number | null, extraLoss = 0) => {
    const latencyMs = accessLatency();
    const loss = lossOf(1 - (1 - accessLoss) * (1 - extraLoss));
    return {
      uplink: { latencyMs, jitterMs: options.jitterMs, ...loss },
      downlink: { latencyMs, ...loss },
      uploadBytesPerSecond: kbps === null ? undefined : (kbps * 1000) / 8,
      uploadQueueBytes: options.uploadQueueBytes,
    };
  };

  const chunkMs = (options.chunkSize * 8 * 1000) / options.bitrate;
  const timeoutMs = memberTimeoutMillis(options);
  const expulsions: Expulsion[] = [];
  const silentDrops: SilentDrop[] = [];
  // Member ids -> peer names, learnt from the source's `peer-join` events: the member's
  // endpoint in the source's table is the node's own, or its NAT's public address.
  const namesByMemberId = new Map<number, PeerRecord>();
  const recordOfEndpoint = (endpoint: Endpoint): PeerRecord | undefined =>
    // Newest first: a rejoining free rider's new process shares its NAT's address.
    records.findLast((record) => {
      // Unset while its own addNode runs.
      const node = record.node as SimulatedNode | undefined;
      if (node === undefined || !node.alive) return false;
      if (node.nat !== null) return node.nat.publicAddress === endpoint.address;
      return sameEndpoint(node.endpoint, endpoint);
    });
  // The source's own links may lose more (LRS experiments): each access link drops
  // `sourceLinkLoss` on top of its share of the path loss.
  const sourceLink = peerLink(options.sourceUploadKbps, options.sourceLinkLoss);
  const sourceCluster = options.sourceOptions.cluster ?? {};
  const sourceNode = sim.addNode({
    name: 'source',
    udpPort: SOURCE_PORT,
    tcpListenPort: SOURCE_PORT,
    ...sourceLink,
    createCore: ({ random: coreRandom }) =>
      new SourceCore({
        maxMembers: Math.max(256, options.peers * 2),
        ...(options.credentials ? { signer: simulatedSigner(options.seed) } : {}),
        ...options.sourceOptions,
        // Issue 5's rule switches; explicit `sourceOptions.cluster` settings win.
        cluster: {
          lostChunkRecovery: options.lrs,
          ...(timeoutMs === null ? {} : { livenessTimeoutMillis: timeoutMs }),
          ...sourceCluster,
          complaints: { keying: options.complaintsBy, ...sourceCluster.complaints },
          scheduling: {
            policy: options.acs ? 'adaptive' : 'round-robin',
            ...sourceCluster.scheduling,
          },
        },
        random: coreRandom,
        chunkSize: options.chunkSize,
        bufferSize: options.bufferSize,
        monitorCredential: MONITOR_CREDENTIAL,
      }),
    onOutput: (node, output) => {
      if (output.type !== 'event') return;
      // This node runs the SourceCore built above: its events are SourceEvents.
      const event = output.event as SourceEvent;
      if (event.level === 'debug' && !options.traceDebug) return;
      sim.record('core-event', {
        node: node.name,
        name: event.name,
        level: event.level,
        ...safeFields(event.fields),
      });
      switch (event.name) {
        case 'peer-join': {
          const { memberId } = event.fields;
          const member = (node.core as SourceCore).cluster.members.get(memberId);
          const record = member === undefined ? undefined : recordOfEndpoint(member.endpoint);
          if (record !== undefined) {
            namesByMemberId.set(memberId, record);
            record.memberId = memberId;
          }
          return;
        }
        case 'peer-expel': {
          const { memberId, endpoint, reason, complaints } = event.fields;
          const record = namesByMemberId.get(memberId);
          expulsions.push({
            time: sim.now,
            member: record?.name ?? endpoint,
            memberId,
            reason,
            freeRider: record?.freeRider ?? false,
            joinedAt: null,
            chunksSent: null,
            complaints,
          });
          return;
        }
        case 'peer-leave': {
          const { memberId, endpoint, reason } = event.fields;
          if (reason !== 'timeout') return;
          const record = namesByMemberId.get(memberId);
          const crashedAt = record?.crashed ? record.leftAt : null;
          silentDrops.push({
            time: sim.now,
            member: record?.name ?? endpoint,
            memberId,
            crashed: record?.crashed ?? false,
            afterCrashMs:
              crashedAt === null || crashedAt === undefined ? null : sim.now - crashedAt,
          });
          return;
        }
      }
    },
  });
  const source = sourceNode.core as SourceCore;
  const records: PeerRecord[] = [];
  const sourceEndpoint = sourceNode.endpoint;
  const generator = new StreamGenerator(sim, sourceNode, {
    bitrate: options.bitrate,
    pieceBytes: options.chunkSize,
    startAt: 0,
    stopAt: durationMs,
  });

  // Free riders: drawn deterministically among the non-monitor initial peers.
  const candidates = Array.from(
    { length: options.peers - options.monitors },
    (_, index) => index + options.monitors,
  );
  const freeRiderIndexes = new Set<number>();
  while (freeRiderIndexes.size < options.freeRiders) {
    const pick = Math.floor(random.next() * candidates.length);
    freeRiderIndexes.add(candidates[pick]!);
  }
  // Slow peers (ACS): drawn among the rest, only when asked (same draws as before otherwise).
  const slowIndexes = new Set<number>();
  const slowCandidates = candidates.filter((index) => !freeRiderIndexes.has(index));
  while (slowIndexes.size < options.slowPeers) {
    slowIndexes.add(slowCandidates[Math.floor(random.next() * slowCandidates.length)]!);
  }
  let joins = 0;
  let leaves = 0;
  let crashes = 0;
  const chunkDelays = new MillisecondHistogram(durationMs);

  const onPeerOutput =
    (record: PeerRecord) => (node: SimulatedNode, output: CoreOutput, now: number) => {
      if (output.type === 'play') {
        const payload = output.payload;
        if (record.firstPlayAt === null) {
          if (payload === null) return;
          record.firstPlayAt = now;
        }
        // Not counted once the peer was told to leave: its buffer drains on purpose.
        if (record.leftAt !== null || now < options.measureFromMs) return;
        record.due += 1;
        const afterCrash =
          options.crashFraction > 0 &&
          now >= options.crashAtMs &&
          now < options.crashAtMs + AFTER_CRASH_WINDOW_MS;
        if (afterCrash) record.afterCrashDue += 1;
        if (payload === null) {
          record.lost += 1;
          if (afterCrash) record.afterCrashLost += 1;
          return;
        }
        const offset = streamOffsetOf(payload);
        if (offset < 0) {
          record.corrupt += 1;
          return;
        }
        if (offset <= record.lastOffset) record.outOfOrder += 1;
        record.lastOffset = offset;
        const delay = now - generator.ingestTimeOf(offset + payload.length - 1);
        record.playoutDelaySum += delay;
        record.playoutDelayCount += 1;
        chunkDelays.add(delay);
      } else if (output.type === 'event') {
        // This node runs a PeerCore: its events are PeerEvents.
        const event = output.event as PeerEvent;
        if (event.name === 'peer-leave') record.departures.set(event.fields.memberId, now);
        if (event.level === 'debug' && !options.traceDebug) return;
        sim.record('core-event', {
          node: node.name,
          name: event.name,
          level: event.level,
          ...safeFields(event.fields),
        });
      }
    };

  /** Each NAT box's type (what `natDetected` peers report). */
  const boxTypes = new Map<NatBox, NatBoxType>();
  const natIndexes = new Set<number>();
  const natCount = Math.round(options.natFraction * options.peers);
  while (natIndexes.size < natCount) natIndexes.add(Math.floor(random.next() * options.peers));

  const startPeer = (
    index: number,
    behindNat: boolean,
    rejoin: { readonly nat: NatBox; readonly incarnation: number } | null = null,
  ): PeerRecord => {
    const monitor = index < options.monitors;
    const freeRider = freeRiderIndexes.has(index);
    const host = monitor ? `monitor-${index + 1}` : `peer-${String(index + 1).padStart(4, '0')}`;
    const name = rejoin === null ? host : `${host}-rejoin-${rejoin.incarnation}`;
    const record = new PeerRecord(name, monitor, freeRider, sim.now);
    record.host = host;
    record.slow = slowIndexes.has(index);
    records.push(record);
    joins += 1;
    let nat: NatBox | null = rejoin?.nat ?? null;
    if (nat === null && freeRider && options.freeRiderNat !== null) {
      nat = sim.addNat({ type: options.freeRiderNat });
      boxTypes.set(nat, options.freeRiderNat);
    } else if (nat === null && behindNat) {
      nat = sim.addNat({ type: options.natType });
      boxTypes.set(nat, options.natType);
    }
    record.node = sim.addNode({
      name,
      nat,
      ...peerLink(record.slow ? options.slowUploadKbps : options.uploadKbps),
      dropOutgoing: freeRider ? isRelay(sourceEndpoint) : null,
      createCore: ({ random: coreRandom, endpoint }) =>
        new PeerCore({
          ...(options.playoutDelayChunks === null &&
          options.peerOptions.playoutDelayChunks === undefined &&
          options.peerOptions.playoutDelayMillis === undefined
            ? { playoutDelayMillis: HALF_BUFFER_DELAY_MILLIS }
            : {}),
          ...(options.credentials ? { verifier: simulatedVerifier } : {}),
          ...options.peerOptions,
          source: sourceEndpoint,
          random: coreRandom,
          role: monitor ? 'monitor' : 'peer',
          credential: monitor ? MONITOR_CREDENTIAL : new Uint8Array(0),
          privateEndpoint: endpoint,
          ...(options.natDetected && nat !== null
            ? {
                nat: {
                  type: boxTypes.get(nat)!,
                  portStep: boxTypes.get(nat) === 'symmetric-sequential' ? nat.options.portStep : 0,
                  mappedEndpoint: null,
                },
              }
            : {}),
          ...(options.playoutDelayChunks === null
            ? {}
            : { playoutDelayChunks: options.playoutDelayChunks }),
          ...(options.relaySpreadChunks === null
            ? {}
            : { relaySpreadChunks: options.relaySpreadChunks }),
        }),
      onOutput: onPeerOutput(record),
    });
    sim.record('peer-join', { node: name, monitor, freeRider, behindNat: nat !== null });
    const rejoinMs = options.freeRiderRejoinMs;
    if (freeRider && rejoinMs !== null && nat !== null) {
      // Seed 000's evasion: leave and come back as a new process (a new socket, so a new
      // NAT mapping and a new endpoint at the source) before the complaints add up.
      const incarnation = (rejoin?.incarnation ?? 0) + 1;
      const natBox = nat;
      sim.schedule(sim.now + rejoinMs, () => {
        if (record.leftAt !== null) return;
        record.leftAt = sim.now;
        sim.stop(record.node);
        sim.schedule(sim.now + REJOIN_PAUSE_MS, () =>
          startPeer(index, false, { nat: natBox, incarnation }),
        );
      });
    }
    return record;
  };

  let atMeasureStart = { sent: 0, ingested: 0 };
  sim.schedule(options.measureFromMs, () => {
    atMeasureStart = {
      sent: sourceNode.statistics.bytesSent,
      ingested: source.stats().bytesIngested,
    };
  });

  // Monitors first (P2PSP: the first joiner is the monitor), then the others, evenly spread.
  for (let index = 0; index < options.peers; index += 1) {
    const at = options.peers === 1 ? 0 : (options.joinWindowMs * index) / options.peers;
    sim.schedule(at, () => startPeer(index, natIndexes.has(index)));
  }

  const alivePlainPeers = (): PeerRecord[] =>
    records.filter((record) => !record.monitor && record.leftAt === null && record.node.alive);

  // Churn: a Poisson process of polite leaves, each replaced by a new joiner.
  if (options.churnPerMinute > 0) {
    let at = options.joinWindowMs;
    let nextIndex = options.peers;
    for (;;) {
      at += (-Math.log(1 - random.next()) * 60_000) / options.churnPerMinute;
      if (at >= durationMs) break;
      const index = nextIndex++;
      sim.schedule(at, () => {
        const candidates = alivePlainPeers();
        const leaving = candidates[Math.floor(random.next() * candidates.length)];
        if (leaving !== undefined) {
          leaving.leftAt = sim.now;
          leaves += 1;
          sim.record('peer-leave', { node: leaving.name });
          sim.stop(leaving.node);
        }
        startPeer(index, false);
      });
    }
  }

  if (options.crashFraction > 0) {
    sim.schedule(options.crashAtMs, () => {
      const candidates = alivePlainPeers();
      const count = Math.round(options.crashFraction * candidates.length);
      for (let crashed = 0; crashed < count; crashed += 1) {
        const pick = Math.floor(random.next() * candidates.length);
        const [victim] = candidates.splice(pick, 1);
        if (victim === undefined) break;
        victim.crashed = true;
        victim.leftAt = sim.now;
        crashes += 1;
        sim.crash(victim.node);
      }
    });
    // Rule 6 and the bound: 2B chunk times after the crash, who still lists whom?
    const checkAt = options.crashAtMs + 2 * options.bufferSize * chunkMs;
    if (checkAt <= durationMs) {
      sim.schedule(checkAt, () => {
        const crashed = records.filter((record) => record.crashed && record.memberId !== null);
        const sourceIds = new Set(source.members().map((member) => member.memberId));
        crashCheck.sourceMissed = crashed
          .filter((record) => sourceIds.has(record.memberId!))
          .map((record) => record.name);
        const crashedIds = new Set(crashed.map((record) => record.memberId!));
        for (const survivor of records) {
          if (survivor.leftAt !== null || !survivor.node.alive) continue;
          const core = survivor.node.core as PeerCore;
          for (const neighbour of core.neighbours()) {
            if (crashedIds.has(neighbour.memberId)) crashCheck.peersStillListing += 1;
          }
        }
        crashCheck.checked = true;
      });
    }
  }

  const crashCheck = { checked: false, sourceMissed: [] as string[], peersStillListing: 0 };
  const clusterSizeOverTime: [number, number][] = [];
  for (let at = 1000; at <= durationMs; at += 1000) {
    sim.schedule(at, () => {
      const members = source.stats().members;
      clusterSizeOverTime.push([sim.now, members]);
      sim.record('cluster-size', { members });
    });
  }

  sim.runUntil(durationMs);

  // Reports.
  const reports: PeerReport[] = records.map((record) => {
    const statistics = record.node.statistics;
    return {
      name: record.name,
      monitor: record.monitor,
      freeRider: record.freeRider,
      slow: record.slow,
      behindNat: record.node.nat !== null,
      role: (record.node.core as PeerCore).stats().role,
      memberId: record.memberId,
      chunksFromSource: (record.node.core as PeerCore).stats().chunksFromSource,
      joinedAt: record.joinedAt,
      leftAt: record.leftAt,
      crashed: record.crashed,
      startupDelayMs: record.firstPlayAt === null ? null : record.firstPlayAt - record.joinedAt,
      chunksDue: record.due,
      chunksLost: record.lost,
      chunkLossRatio: record.due === 0 ? null : record.lost / record.due,
      chunksCorrupt: record.corrupt,
      chunksOutOfOrder: record.outOfOrder,
      playoutDelayMs:
        record.playoutDelayCount === 0 ? null : record.playoutDelaySum / record.playoutDelayCount,
      bytesSent: statistics.bytesSent,
      bytesReceived: statistics.bytesReceived,
    };
  });
  const measured = reports.filter((report) => report.chunkLossRatio !== null);
  const honest = measured.filter(
    (report) => !report.freeRider && !report.crashed && report.leftAt === null,
  );
  const dropped: Record<string, number> = {};
  for (const node of sim.nodes) {
    for (const [reason, count] of Object.entries(node.statistics.drops)) {
      dropped[reason] = (dropped[reason] ?? 0) + count;
    }
    for (const [reason, count] of Object.entries(node.statistics.dropsOnArrival)) {
      dropped[reason] = (dropped[reason] ?? 0) + count;
    }
  }
  const sizes = clusterSizeOverTime.map(([, members]) => members);
  const ingested = source.stats().bytesIngested;
  // Stream bytes produced while each peer was there: what rule 2 says it relays about once.
  const uploadRatios = reports
    .filter((report) => !report.freeRider && report.chunksDue > 0)
    .map((report) => {
      const seconds = ((report.leftAt ?? durationMs) - report.joinedAt) / 1000;
      return report.bytesSent / Math.max(1, (seconds * options.bitrate) / 8);
    });
  const { onTrace: _onTrace, ...parameters } = options;
  const health = clusterHealth({
    options,
    records,
    reports,
    expulsions,
    silentDrops,
    crashCheck,
    source,
    timeoutMs,
    chunkMs,
  });
  const summary: ClusterSummary = {
    parameters,
    peersMeasured: measured.length,
    chunkLossRatio: distribution(measured.map((report) => report.chunkLossRatio!)),
    honestChunkLossRatio: distribution(honest.map((report) => report.chunkLossRatio!)),
    startupDelayMs: distribution(
      reports.flatMap((report) => (report.startupDelayMs === null ? [] : [report.startupDelayMs])),
    ),
    playoutDelayMs: distribution(
      reports.flatMap((report) => (report.playoutDelayMs === null ? [] : [report.playoutDelayMs])),
    ),
    chunkDelayMs: chunkDelays.distribution(),
    sourceUploadRatio: ingested === 0 ? 0 : sourceNode.statistics.bytesSent / ingested,
    sourceUploadByType: uploadByType(sourceNode.statistics.bytesSentByType, ingested),
    sourceUploadRatioMeasured:
      ingested === atMeasureStart.ingested
        ? 0
        : (sourceNode.statistics.bytesSent - atMeasureStart.sent) /
          (ingested - atMeasureStart.ingested),
    sourceChunkRatio: ingested === 0 ? 0 : source.stats().chunkBytesSent / ingested,
    peerUploadRatio: distribution(uploadRatios).mean,
    joins,
    leaves,
    crashes,
    freeRiders: records.filter((record) => record.freeRider).map((record) => record.name),
    expulsions: health.expulsions,
    health: health.health,
    clusterSize: {
      min: sizes.length === 0 ? 0 : Math.min(...sizes),
      max: sizes.length === 0 ? 0 : Math.max(...sizes),
      final: sizes.at(-1) ?? 0,
    },
    externals: {
      final: source.members().filter((member) => member.role === 'external').length,
      onboarded: source.stats().externalsOnboarded,
      noticesSent: source.stats().externalNoticesSent,
      peerListsSent: source.stats().peerListsSent,
      peerListRequestsLimited: source.stats().peerListRequestsLimited,
      peerListBytesPerSecond: source.stats().peerListBytesSent / options.seconds,
      reonboardings: records.reduce(
        (sum, record) => sum + (record.node.core as PeerCore).stats().reonboardings,
        0,
      ),
    },
    chunksCorrupt: reports.reduce((sum, report) => sum + report.chunksCorrupt, 0),
    chunksOutOfOrder: reports.reduce((sum, report) => sum + report.chunksOutOfOrder, 0),
    datagramsDelivered: sim.datagramsDelivered,
    datagramsDropped: dropped,
    eventsProcessed: sim.eventsProcessed,
    traceHash: sim.traceDigest(),
  };
  return { summary, peers: reports, clusterSizeOverTime };
}

/** Plays counted as "after the crash" for the survivors' loss (10 seconds). */
const AFTER_CRASH_WINDOW_MS = 10_000;
/** A rejoining free rider's new process starts this long after the old one said goodbye. */
const REJOIN_PAUSE_MS = 200;

/** The issue-5 part of the summary: who was caught, who was dropped, what LRS and ACS did. */
function clusterHealth(run: {
  options: ClusterScenarioOptions;
  records: readonly PeerRecord[];
  reports: readonly PeerReport[];
  expulsions: readonly Expulsion[];
  silentDrops: readonly SilentDrop[];
  crashCheck: { checked: boolean; sourceMissed: string[]; peersStillListing: number };
  source: SourceCore;
  timeoutMs: number | null;
  chunkMs: number;
}): { expulsions: Expulsion[]; health: ClusterHealth } {
  const { options, records, reports, source } = run;
  // The source's removal history has what the events did not carry: chunks given, join time.
  const removals = new Map(
    source.cluster.members
      .removals()
      .filter((removal) => removal.reason === 'expelled')
      .map((removal) => [removal.member.memberId, removal.member]),
  );
  const expulsions = run.expulsions.map((expulsion) => {
    const member = expulsion.memberId === null ? undefined : removals.get(expulsion.memberId);
    return member === undefined
      ? expulsion
      : {
          ...expulsion,
          joinedAt: member.joinedAt,
          chunksSent: member.chunksSent,
          complaints: member.complaints,
        };
  });
  const recordByName = new Map(records.map((record) => [record.name, record]));
  const expelledHosts = new Set(
    expulsions.flatMap((expulsion) => {
      const record = recordByName.get(expulsion.member);
      return record === undefined ? [] : [record.host];
    }),
  );
  const freeRiderHosts = [
    ...new Set(records.filter((record) => record.freeRider).map((record) => record.host)),
  ];
  const freeRiderExpulsions = expulsions.filter((expulsion) => expulsion.freeRider);
  const honest = reports.filter(
    (report) => !report.freeRider && !report.crashed && report.leftAt === null,
  );
  const lossOf = (list: readonly PeerReport[]) =>
    distribution(
      list.flatMap((report) => (report.chunkLossRatio === null ? [] : [report.chunkLossRatio])),
    );
  const fed = reports.filter(
    (report) => !report.monitor && !report.freeRider && report.leftAt === null,
  );
  const totalFromSource = reports.reduce((sum, report) => sum + report.chunksFromSource, 0);
  const shareOf = (list: readonly PeerReport[]) =>
    distribution(
      list.map((report) => (totalFromSource === 0 ? 0 : report.chunksFromSource / totalFromSource)),
    );
  let crashes: CrashReport | null = null;
  if (options.crashFraction > 0) {
    const crashed = records.filter((record) => record.crashed);
    const crashedIds = new Map(
      crashed.flatMap((record) => (record.memberId === null ? [] : [[record.memberId, record]])),
    );
    const sourceDropMs = crashed.flatMap((record) => {
      const drop = run.silentDrops.find((entry) => entry.memberId === record.memberId);
      const expelled = expulsions.find((entry) => entry.memberId === record.memberId);
      const at = Math.min(
        drop?.time ?? Number.POSITIVE_INFINITY,
        expelled?.time ?? Number.POSITIVE_INFINITY,
      );
      return Number.isFinite(at) ? [at - options.crashAtMs] : [];
    });
    const peerDropMs: number[] = [];
    const survivors = records.filter(
      (record) => !record.crashed && record.leftAt === null && record.joinedAt < options.crashAtMs,
    );
    for (const survivor of survivors) {
      for (const [memberId, time] of survivor.departures) {
        if (crashedIds.has(memberId)) peerDropMs.push(time - options.crashAtMs);
      }
    }
    crashes = {
      crashAt: options.crashAtMs,
      crashed: crashed.map((record) => record.name),
      boundMs: 2 * options.bufferSize * run.chunkMs,
      sourceDropMs: distribution(sourceDropMs),
      // Not checked (the run ended first): every crashed member counts as missed.
      sourceMissed: run.crashCheck.checked
        ? run.crashCheck.sourceMissed
        : crashed.map((record) => record.name),
      peerDropMs: distribution(peerDropMs),
      peersStillListing: run.crashCheck.checked ? run.crashCheck.peersStillListing : -1,
      survivorLossAfterCrash: distribution(
        survivors
          .filter((record) => record.afterCrashDue > 0)
          .map((record) => record.afterCrashLost / record.afterCrashDue),
      ),
    };
  }
  const ledger = source.cluster.ledger;
  return {
    expulsions,
    health: {
      freeRidersExpelled: freeRiderHosts.filter((host) => expelledHosts.has(host)),
      freeRidersNotExpelled: freeRiderHosts.filter((host) => !expelledHosts.has(host)),
      honestExpelled: expulsions
        .filter((expulsion) => {
          const record = recordByName.get(expulsion.member);
          return !expulsion.freeRider && record?.crashed !== true;
        })
        .map((expulsion) => expulsion.member),
      roundsToExpulsion: distribution(
        freeRiderExpulsions.flatMap((expulsion) =>
          expulsion.chunksSent === null ? [] : [expulsion.chunksSent],
        ),
      ),
      complaintsReceived: source.stats().complaintsReceived,
      complaintsIgnored: Object.fromEntries(
        Object.entries(ledger.ignored).filter(([, count]) => count > 0),
      ),
      chunksRecovered: source.stats().chunksRecovered,
      monitorChunkLossRatio: lossOf(honest.filter((report) => report.monitor)),
      peerChunkLossRatio: lossOf(honest.filter((report) => !report.monitor)),
      slowPeers: reports.filter((report) => report.slow).map((report) => report.name),
      slowPeerSourceShare: shareOf(fed.filter((report) => report.slow)),
      otherPeerSourceShare: shareOf(fed.filter((report) => !report.slow)),
      memberTimeoutMs: run.timeoutMs,
      silentDrops: run.silentDrops,
      crashes,
    },
  };
}

function uploadByType(bytesByType: Float64Array, ingested: number): Record<string, number> {
  const byType: Record<string, number> = {};
  bytesByType.forEach((bytes, code) => {
    if (bytes > 0) byType[TYPE_NAMES.get(code) ?? `0x${code.toString(16)}`] = bytes / ingested;
  });
  return byType;
}
