import { closeSync, openSync, writeSync } from 'node:fs';
import {
  type ClusterScenarioOptions,
  type ClusterSummary,
  NAT_BOX_PRESETS,
  runClusterScenario,
  ScenarioOptionError,
  type TraceRecord,
} from '@p2psp/netsim';
import { type Command, InvalidArgumentError } from 'commander';
import { BAD_OPTION, bitrate, integerIn } from '../cli-errors.js';
import { complaintThresholdOptions, thresholdMillis } from '../source-health.js';

interface SimFlags {
  peers: number;
  monitors: number;
  buffer?: number;
  seconds: number;
  bitrate: number;
  chunkSize: number;
  loss: number;
  burst?: number;
  latency: LatencyRange;
  jitter: number;
  uploadKbps?: number;
  sourceUploadKbps?: number;
  churn: number;
  freeRiders: number;
  crashFraction: number;
  crashAt?: number;
  natFraction: number;
  natType: string;
  lrs?: boolean;
  repair: boolean;
  repairFromSource?: boolean;
  acs?: boolean;
  complaintsBy: string;
  memberTimeout?: number;
  complaintThreshold?: number;
  complaintThresholdMs?: number;
  sourceLoss: number;
  slowPeers: number;
  slowUploadKbps?: number;
  freeRiderNat?: string;
  freeRiderRejoin?: number;
  playoutDelay?: number;
  relaySpread?: number;
  joinWindow: number;
  measureFrom: number;
  seed: number;
  credentials: boolean;
  json?: boolean;
  trace?: string;
  traceDebug?: boolean;
}

/** A number >= 0 (commander prints the message with the option's name and exits 1). */
function nonNegative(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError('expected a number >= 0.');
  }
  return value;
}

/** A probability: 0.01 or 1%. */
function probability(text: string): number {
  const trimmed = text.trim();
  const value = trimmed.endsWith('%') ? Number(trimmed.slice(0, -1)) / 100 : Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidArgumentError('expected a probability in [0, 1), e.g. 0.01 or 1%.');
  }
  return value;
}

interface LatencyRange {
  readonly min: number;
  readonly max: number | null;
}

/** One delay in ms, or a range `MIN-MAX` (each node's links drawn in it). */
function latencyRange(text: string): LatencyRange {
  const [min, max, extra] = text.split('-');
  if (extra !== undefined || min === undefined) {
    throw new InvalidArgumentError('expected milliseconds >= 0 or a range MIN-MAX, e.g. 20-50.');
  }
  const low = nonNegative(min);
  if (max === undefined) return { min: low, max: null };
  const high = nonNegative(max);
  if (high < low) throw new InvalidArgumentError(`the range ${text} ends below its start.`);
  return { min: low, max: high };
}

/** A mean burst length in datagrams: >= 1. */
function burstLength(text: string): number {
  const value = nonNegative(text);
  if (value < 1) throw new InvalidArgumentError('expected a mean burst length >= 1 datagram.');
  return value;
}

const NAT_TYPES = Object.keys(NAT_BOX_PRESETS);
const COMPLAINT_KEYINGS = ['endpoint', 'ip'];

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.001 && ratio > 0 ? 4 : 2)}%`;
}

function milliseconds(value: number): string {
  return `${Math.round(value).toLocaleString('en-US')} ms`;
}

/** The summary for a person: one line per figure. */
export function formatSimSummary(summary: ClusterSummary, wallMilliseconds: number): string {
  const parameters = summary.parameters;
  const drops = Object.entries(summary.datagramsDropped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const lines = [
    `p2psp sim: ${parameters.peers} peers (${parameters.monitors} monitor${parameters.monitors === 1 ? '' : 's'}, ` +
      `${parameters.freeRiders} free rider${parameters.freeRiders === 1 ? '' : 's'}), B = ${parameters.bufferSize} chunks, ` +
      `${parameters.seconds} s of ${parameters.bitrate / 1000} kbit/s, ${parameters.latencyMs}${parameters.latencyMaxMs === null ? '' : `-${parameters.latencyMaxMs}`} ms links, ` +
      `${percent(parameters.loss)} loss${parameters.burstLength === null ? '' : ` in bursts of ${parameters.burstLength}`}, seed ${parameters.seed}`,
    `  chunk loss ratio   mean ${percent(summary.chunkLossRatio.mean)}  p99 ${percent(summary.chunkLossRatio.p99)}  ` +
      `max ${percent(summary.chunkLossRatio.max)}  (${summary.peersMeasured} peers played)`,
    `  honest peers CLR   mean ${percent(summary.honestChunkLossRatio.mean)}  max ${percent(summary.honestChunkLossRatio.max)}  ` +
      `(${summary.honestChunkLossRatio.count} stayed, relayed, did not crash)`,
    `  startup delay      mean ${milliseconds(summary.startupDelayMs.mean)}  p99 ${milliseconds(summary.startupDelayMs.p99)}  ` +
      `max ${milliseconds(summary.startupDelayMs.max)}`,
    `  play-out delay     mean ${milliseconds(summary.playoutDelayMs.mean)}  max ${milliseconds(summary.playoutDelayMs.max)}  ` +
      `(per chunk: p50 ${milliseconds(summary.chunkDelayMs.p50)}  p99 ${milliseconds(summary.chunkDelayMs.p99)})`,
    `  source upload      ${summary.sourceUploadRatio.toFixed(3)} x the stream (chunks ${summary.sourceChunkRatio.toFixed(3)} x) (peers upload ${summary.peerUploadRatio.toFixed(3)} x the stream while present)`,
    `  cluster size       min ${summary.clusterSize.min}  max ${summary.clusterSize.max}  final ${summary.clusterSize.final}`,
    `  membership         ${summary.joins} joins, ${summary.leaves} leaves, ${summary.crashes} crashes, ` +
      `${summary.expulsions.length} expulsions${summary.expulsions.length > 0 ? `: ${summary.expulsions.map((entry) => `${entry.member} (${entry.reason})`).join(', ')}` : ''}`,
    ...healthLines(summary),
    `  content            ${summary.chunksCorrupt} corrupt, ${summary.chunksOutOfOrder} out of order`,
    `  datagrams          ${summary.datagramsDelivered.toLocaleString('en-US')} delivered${drops === '' ? '' : `; dropped: ${drops}`}`,
    `  trace hash         ${summary.traceHash}`,
    `  wall time          ${(wallMilliseconds / 1000).toFixed(2)} s for ${summary.eventsProcessed.toLocaleString('en-US')} events`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The cluster-health figures: rules in force, free riders caught, crashes detected, LRS, ACS. */
function healthLines(summary: ClusterSummary): string[] {
  const parameters = summary.parameters;
  const health = summary.health;
  const rules = [
    parameters.lrs ? 'LRS' : null,
    parameters.acs ? 'ACS' : 'round robin',
    `complaints by ${parameters.complaintsBy}`,
    health.memberTimeoutMs === null
      ? 'no member timeout'
      : `member timeout ${milliseconds(health.memberTimeoutMs)}`,
    parameters.peerOptions.repair === false
      ? 'no repair'
      : parameters.peerOptions.repairFromSource === true
        ? 'repair (RMS-lite, from the source too)'
        : 'repair (RMS-lite)',
  ].filter((rule) => rule !== null);
  const lines = [`  rules              ${rules.join(', ')}`];
  if (summary.freeRiders.length > 0) {
    const rounds = health.roundsToExpulsion;
    lines.push(
      `  free riders        ${health.freeRidersExpelled.length} of ${health.freeRidersExpelled.length + health.freeRidersNotExpelled.length} expelled` +
        (rounds.count > 0
          ? `, after ${rounds.mean.toFixed(1)} rounds on average (max ${rounds.max})`
          : '') +
        `; honest peers expelled: ${health.honestExpelled.length === 0 ? 'none' : health.honestExpelled.join(', ')}`,
    );
  }
  const ignored = Object.entries(health.complaintsIgnored)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  lines.push(
    `  complaints         ${health.complaintsReceived} received${ignored === '' ? '' : `; ignored: ${ignored}`}` +
      (parameters.lrs ? `; ${health.chunksRecovered} chunks resent (LRS)` : ''),
  );
  lines.push(
    `  monitors / others  CLR ${percent(health.monitorChunkLossRatio.mean)} / ${percent(health.peerChunkLossRatio.mean)}`,
  );
  if (health.slowPeers.length > 0) {
    lines.push(
      `  source share       slow peers ${percent(health.slowPeerSourceShare.mean)} each, others ${percent(health.otherPeerSourceShare.mean)} each`,
    );
  }
  const crashes = health.crashes;
  if (crashes !== null) {
    lines.push(
      `  crashes            ${crashes.crashed.length} at ${(crashes.crashAt / 1000).toFixed(1)} s; source dropped them after ${milliseconds(crashes.sourceDropMs.mean)} (max ${milliseconds(crashes.sourceDropMs.max)}, 2B = ${milliseconds(crashes.boundMs)}), ` +
        `${crashes.sourceMissed.length} still listed at 2B; survivors' CLR in the next 10 s ${percent(crashes.survivorLossAfterCrash.mean)}`,
    );
  }
  return lines;
}

/** Writes NDJSON trace lines in batches (synchronously: the run is synchronous too). */
function traceWriter(file: string): { write: (record: TraceRecord) => void; close: () => void } {
  const descriptor = openSync(file, 'w');
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    writeSync(descriptor, `${pending.join('\n')}\n`);
    pending = [];
  };
  return {
    write: (record) => {
      pending.push(JSON.stringify(record));
      if (pending.length >= 2000) flush();
    },
    close: () => {
      flush();
      closeSync(descriptor);
    },
  };
}

/** `p2psp sim`: a whole cluster on the deterministic simulated network. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'simulate a cluster (the real source and peer cores on a deterministic virtual network) and print its chunk loss, delays and upload',
    )
    .option(
      '-n, --peers <count>',
      'peers that join at the start (monitors included)',
      integerIn(1, 100_000),
      10,
    )
    .option(
      '-m, --monitors <count>',
      'how many of the first joiners are monitors',
      integerIn(0, 100_000),
      1,
    )
    .option(
      '-b, --buffer <chunks>',
      'buffer size B in chunks (default 3 x peers, at least 64)',
      integerIn(2, 65_536),
    )
    .option('-s, --seconds <seconds>', 'simulated time', nonNegative, 30)
    .option('--bitrate <bps>', 'stream rate, e.g. 128k', bitrate, 128_000)
    .option(
      '--chunk-size <bytes>',
      'payload bytes per chunk (a multiple of 8)',
      integerIn(64, 1420),
      1024,
    )
    .option(
      '--loss <probability>',
      'loss on every path between two nodes, e.g. 0.01 or 1%',
      probability,
      0,
    )
    .option(
      '--burst <datagrams>',
      'loss comes in bursts of this mean length on every link (Gilbert-Elliott); the mean stays --loss',
      burstLength,
    )
    .option(
      '--latency <ms>',
      'one-way delay between any two nodes, or a range MIN-MAX (each path drawn in it)',
      latencyRange,
      { min: 5, max: null },
    )
    .option('--jitter <ms>', 'extra delay per datagram, uniform in [0, jitter)', nonNegative, 0)
    .option('--upload-kbps <kbps>', "peers' upload capacity (default unlimited)", nonNegative)
    .option(
      '--source-upload-kbps <kbps>',
      "the source's upload capacity (default unlimited)",
      nonNegative,
    )
    .option(
      '--churn <per-minute>',
      'polite leaves per simulated minute, each replaced by a joiner',
      nonNegative,
      0,
    )
    .option('--free-riders <count>', 'peers that receive but never relay', integerIn(0, 100_000), 0)
    .option(
      '--crash-fraction <fraction>',
      'fraction of peers that crash without goodbye (at --crash-at)',
      nonNegative,
      0,
    )
    .option('--crash-at <seconds>', 'when the crashes happen (default: half way)', nonNegative)
    .option('--nat-fraction <fraction>', 'fraction of peers behind a NAT box each', nonNegative, 0)
    .option('--nat-type <type>', `their NAT type: ${NAT_TYPES.join(', ')}`, 'port-restricted-cone')
    .option(
      '--no-lrs',
      'turn off lost chunk recovery (LRS, on by default with monitors: the source resends a chunk every monitor lost)',
    )
    .option(
      '--no-repair',
      'plain DBS peers: no RMS-lite repair (asking a neighbour for a chunk lost on the last hop; on by default)',
    )
    .option(
      '--repair-from-source',
      "peers ask the source for their own chunks its hop lost (repair's last resort; off by default)",
    )
    .option('--acs', 'adaptive chunk scheduling: members get source chunks by measured reliability')
    .option(
      '--complaints-by <key>',
      'key of the complaint ledger: endpoint, or ip (catches free riders that change ports)',
      'endpoint',
    )
    .option(
      '--member-timeout <chunks>',
      'the source drops a member silent this many chunk times (default B, at least 3 stats reports; 0: never)',
      integerIn(0, 1_000_000),
    )
    .option(
      '--complaint-threshold-ms <ms>',
      "expel a member past this much stream of complaints, in chunks at --bitrate and at least 32 (rule 8; default 2048: P2PSP's 32 chunks at 128 kbit/s)",
      thresholdMillis,
    )
    .option(
      '--complaint-threshold <count>',
      'expel a member past this many complaints at any bitrate, instead of --complaint-threshold-ms (P2PSP used 32)',
      integerIn(1, 1_000_000_000),
    )
    .option(
      '--source-loss <probability>',
      "extra loss on each of the source's links, e.g. 1% (LRS experiments)",
      probability,
      0,
    )
    .option(
      '--slow-peers <count>',
      'peers with --slow-upload-kbps of upload (ACS experiments)',
      integerIn(0, 100_000),
      0,
    )
    .option('--slow-upload-kbps <kbps>', "the slow peers' upload capacity", nonNegative)
    .option(
      '--free-rider-nat <type>',
      `put each free rider behind its own NAT box of this type (${NAT_TYPES.join(', ')})`,
    )
    .option(
      '--free-rider-rejoin <seconds>',
      'free riders leave and rejoin as a new process this often (a new endpoint behind a NAT)',
      nonNegative,
    )
    .option(
      '--playout-delay <chunks>',
      'chunks between newest received and played (default B/2)',
      integerIn(1, 65_535),
    )
    .option(
      '--relay-spread <chunks>',
      'spread relays over at most this many chunk intervals (default B/4; 65535: the whole round, as P2PSP)',
      integerIn(1, 65_535),
    )
    .option(
      '--join-window <ms>',
      'peers join spread over this window from the start',
      nonNegative,
      1000,
    )
    .option(
      '--measure-from <seconds>',
      'count chunk loss only from this simulated time (skip the joins)',
      nonNegative,
      0,
    )
    .option(
      '--seed <number>',
      'seed of every random choice: same seed, same run',
      integerIn(0, 0xffffffff),
      1,
    )
    .option(
      '--no-credentials',
      'a source without a key: no membership credentials, every joiner introduced to every member',
    )
    .option('--json', 'print the summary as one JSON object on stdout instead')
    .option(
      '--trace <file>',
      'write every event (joins, leaves, expulsions, core events) as NDJSON',
    )
    .option('--trace-debug', "also trace the cores' debug events (large)")
    .addHelpText(
      'after',
      '\nExamples:\n  p2psp sim --peers 50 --buffer 150 --loss 1% --seconds 30\n  p2psp sim --peers 50 --free-riders 5 --loss 1% --seconds 150 --json\n  p2psp sim --peers 50 --crash-fraction 0.3 --crash-at 20 --seconds 45 --no-lrs\n  p2psp sim --peers 20 --free-riders 1 --free-rider-nat symmetric-random --free-rider-rejoin 20 --complaints-by ip --seconds 150\n  p2psp sim --peers 1000 --buffer 1000 --seconds 60 --trace run.ndjson\n\nThe --json summary lists the free riders (freeRiders), the members the source expelled with\nthe reason and the rounds they lasted (expulsions), and health: free riders caught or not,\nhonest peers expelled, rounds to expulsion, crashes detected, LRS and ACS figures.\nSee docs/cluster-health.md.',
    )
    .action((flags: SimFlags, command: Command) => {
      const choice = (option: string, value: string | undefined, choices: readonly string[]) => {
        if (value === undefined || choices.includes(value)) return;
        command.error(
          `error: ${option}: unknown value '${value}'; use one of ${choices.join(', ')} [P2PSP_ERR_SIM_OPTION]`,
          {
            exitCode: 2,
            code: 'P2PSP_ERR_SIM_OPTION',
          },
        );
      };
      choice('--complaints-by', flags.complaintsBy, COMPLAINT_KEYINGS);
      choice('--free-rider-nat', flags.freeRiderNat, NAT_TYPES);
      if (!NAT_TYPES.includes(flags.natType)) {
        command.error(
          `error: --nat-type: unknown type '${flags.natType}'; use one of ${NAT_TYPES.join(', ')} [P2PSP_ERR_SIM_OPTION]`,
          {
            exitCode: 2,
            code: 'P2PSP_ERR_SIM_OPTION',
          },
        );
      }
      let complaints: ReturnType<typeof complaintThresholdOptions> = {};
      try {
        complaints = complaintThresholdOptions(flags);
      } catch (error) {
        command.error(`error: ${(error as Error).message} [${BAD_OPTION}]`, {
          exitCode: 2,
          code: BAD_OPTION,
        });
      }
      const trace = flags.trace === undefined ? null : traceWriter(flags.trace);
      const options: Partial<ClusterScenarioOptions> &
        Pick<ClusterScenarioOptions, 'peers' | 'bufferSize'> = {
        peers: flags.peers,
        monitors: flags.monitors,
        bufferSize: flags.buffer ?? Math.max(64, 3 * flags.peers),
        seconds: flags.seconds,
        bitrate: flags.bitrate,
        chunkSize: flags.chunkSize,
        loss: flags.loss,
        latencyMs: flags.latency.min,
        latencyMaxMs: flags.latency.max,
        burstLength: flags.burst ?? null,
        jitterMs: flags.jitter,
        uploadKbps: flags.uploadKbps ?? null,
        sourceUploadKbps: flags.sourceUploadKbps ?? null,
        churnPerMinute: flags.churn,
        freeRiders: flags.freeRiders,
        crashFraction: flags.crashFraction,
        crashAtMs: (flags.crashAt ?? flags.seconds / 2) * 1000,
        natFraction: flags.natFraction,
        natType: flags.natType as ClusterScenarioOptions['natType'],
        // LRS is on by default; with no monitor it has nothing to act on, so it is off.
        lrs: flags.lrs !== false && flags.monitors > 0,
        peerOptions: { repair: flags.repair, repairFromSource: flags.repairFromSource === true },
        acs: flags.acs === true,
        complaintsBy: flags.complaintsBy as ClusterScenarioOptions['complaintsBy'],
        memberTimeoutChunks:
          flags.memberTimeout === undefined
            ? 'auto'
            : flags.memberTimeout === 0
              ? null
              : flags.memberTimeout,
        sourceLinkLoss: flags.sourceLoss,
        ...(Object.keys(complaints).length === 0
          ? {}
          : { sourceOptions: { cluster: { complaints } } }),
        slowPeers: flags.slowPeers,
        slowUploadKbps: flags.slowUploadKbps ?? null,
        freeRiderNat: (flags.freeRiderNat ?? null) as ClusterScenarioOptions['freeRiderNat'],
        freeRiderRejoinMs:
          flags.freeRiderRejoin === undefined ? null : flags.freeRiderRejoin * 1000,
        playoutDelayChunks: flags.playoutDelay ?? null,
        relaySpreadChunks: flags.relaySpread ?? null,
        joinWindowMs: flags.joinWindow,
        measureFromMs: flags.measureFrom * 1000,
        seed: flags.seed,
        credentials: flags.credentials,
        traceDebug: flags.traceDebug === true,
        onTrace: trace === null ? null : trace.write,
      };
      const started = performance.now();
      let summary: ClusterSummary;
      try {
        summary = runClusterScenario(options).summary;
      } catch (error) {
        trace?.close();
        if (error instanceof ScenarioOptionError) {
          command.error(`error: ${error.message} [${error.code}]`, {
            exitCode: 2,
            code: error.code,
          });
        }
        throw error;
      }
      trace?.close();
      const wallMilliseconds = performance.now() - started;
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ ...summary, wallMilliseconds: Math.round(wallMilliseconds) })}\n`,
        );
      } else {
        process.stdout.write(formatSimSummary(summary, wallMilliseconds));
      }
    });
}
