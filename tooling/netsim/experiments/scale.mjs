#!/usr/bin/env node
// Scale experiment: N peers in one full-mesh cluster streaming 128 kbit/s (default N = 100,
// 300, 1,000, 3,000 and 20 simulated seconds), each size in its own child process so peak
// memory and CPU are its own. Cost is CPU seconds of that process (the machine is shared),
// per listener-second, for the whole run and for what follows the joins.
// Prints a Markdown table and the fitted exponents, writes docs/simulation-scale.json and
// docs/simulation-scale.svg. `--report FILE`: the same from `--one` runs saved one per line.
// Run after building: pnpm turbo run build --filter @p2psp/netsim... && node tooling/netsim/experiments/scale.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linePlot } from './svg-plot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '../../../docs');
const args = process.argv.slice(2);
/** Simulated seconds counted as the join phase (all joins fall in the first one). */
const JOIN_PHASE_SECONDS = 5;

if (args[0] === '--one') {
  const peers = Number(args[1]);
  const seconds = Number(args[2] ?? 60);
  const { runClusterScenario } = await import('../dist/index.js');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const cpuNow = () => {
    const cpu = process.cpuUsage(cpuStarted);
    return (cpu.user + cpu.system) / 1e6;
  };
  // CPU seconds spent up to each simulated second (the scenario traces the cluster size
  // every second): the join phase's share of the cost, read off the same run.
  const cpuAtSecond = [];
  const run = runClusterScenario({
    peers,
    // B = N: the smallest buffer rule 5 allows.
    bufferSize: peers,
    seconds,
    bitrate: 128_000,
    latencyMs: 20,
    jitterMs: 5,
    loss: 0.001,
    seed: 1,
    // The peer core's own time-based play-out delay, so start-up does not grow with B = N.
    peerOptions: { playoutDelayMillis: 500 },
    // Every joiner admitted at once: the join flood is what is measured, not the source's
    // join-rate limit (100 per second by default).
    sourceOptions: { joinsPerSecond: 1_000_000 },
    onTrace: (record) => {
      if (record.type === 'cluster-size') cpuAtSecond.push(cpuNow());
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  // CPU seconds of this process: the fair figure when other jobs share the 2 cores.
  const cpuSeconds = cpuNow();
  const summary = run.summary;
  // Listener-seconds: simulated seconds each peer was present (the work a run buys).
  const listenerSeconds = run.peers.reduce(
    (sum, peer) => sum + ((peer.leftAt ?? seconds * 1000) - peer.joinedAt) / 1000,
    0,
  );
  // Joins are over 1 s; by 5 s every hello round has settled (peers retry every 200 ms).
  const joinCpuSeconds = cpuAtSecond[JOIN_PHASE_SECONDS - 1] ?? cpuSeconds;
  process.stdout.write(
    `${JSON.stringify({
      peers,
      seconds,
      wallSeconds,
      cpuSeconds,
      joinCpuSeconds,
      cpuMicrosPerListenerSecond: (cpuSeconds * 1e6) / listenerSeconds,
      steadyCpuMicrosPerListenerSecond:
        ((cpuSeconds - joinCpuSeconds) * 1e6) / (peers * (seconds - JOIN_PHASE_SECONDS)),
      loadAverage: loadavg()[0],
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      datagramsDelivered: summary.datagramsDelivered,
      eventsProcessed: summary.eventsProcessed,
      datagramsPerWallSecond: summary.datagramsDelivered / wallSeconds,
      datagramsPerCpuSecond: summary.datagramsDelivered / cpuSeconds,
      peersPlayed: summary.startupDelayMs.count,
      clrMean: summary.chunkLossRatio.mean,
      clrMax: summary.chunkLossRatio.max,
      startupMeanMs: summary.startupDelayMs.mean,
      startupP99Ms: summary.startupDelayMs.p99,
      sourceUploadRatio: summary.sourceUploadRatio,
      sourceChunkRatio: summary.sourceChunkRatio,
      traceHash: summary.traceHash,
    })}\n`,
  );
  process.exit(0);
}

// `[--seconds S] N ...`: simulated seconds per run (default 20: 5 s of joins, 15 of streaming).
const secondsFlag = args.indexOf('--seconds');
const seconds = secondsFlag < 0 ? 20 : Number(args[secondsFlag + 1]);
const sizeArgs =
  secondsFlag < 0 ? args : args.filter((_, at) => at !== secondsFlag && at !== secondsFlag + 1);
const sizes = sizeArgs.length > 0 ? sizeArgs.map(Number) : [100, 300, 1000, 3000];
const results = [];
if (args[0] === '--report') {
  // Table and plot again from runs saved one per line (each `--one` run prints one).
  for (const line of readFileSync(args[1], 'utf8').split('\n')) {
    if (line.trim() !== '') results.push(JSON.parse(line));
  }
  results.sort((a, b) => a.peers - b.peers);
} else {
  for (const peers of sizes) {
    const output = execFileSync(
      process.execPath,
      [
        '--max-old-space-size=16384',
        fileURLToPath(import.meta.url),
        '--one',
        String(peers),
        String(seconds),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const result = JSON.parse(output.trim().split('\n').at(-1));
    results.push(result);
    process.stderr.write(`${JSON.stringify(result)}\n`);
  }
}

/** Least-squares slope of log(y) against log(x): the exponent of y ~ x^k. */
function exponent(points) {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  let covariance = 0;
  let variance = 0;
  for (let at = 0; at < xs.length; at += 1) {
    covariance += (xs[at] - meanX) * (ys[at] - meanY);
    variance += (xs[at] - meanX) ** 2;
  }
  return covariance / variance;
}

const number = (value) => Math.round(value).toLocaleString('en-US');
const rows = results.map(
  (result) =>
    `| ${number(result.peers)} | ${result.wallSeconds.toFixed(1)} | ${result.cpuSeconds.toFixed(1)} | ${result.joinCpuSeconds.toFixed(1)} | ${result.loadAverage.toFixed(1)} | ${number(result.peakRssMiB)} | ${number(result.datagramsDelivered)} | ${number(result.datagramsPerCpuSecond)} | ${number(result.cpuMicrosPerListenerSecond)} | ${number(result.steadyCpuMicrosPerListenerSecond)} | ${result.peersPlayed} | ${(result.startupP99Ms / 1000).toFixed(2)} | ${(result.clrMean * 100).toFixed(3)}% | ${result.sourceUploadRatio.toFixed(2)} |`,
);
const fit = (key) => exponent(results.map((result) => [result.peers, result[key]])).toFixed(2);
const table = [
  `| peers N | wall s | CPU s | CPU s of joins (first ${JOIN_PHASE_SECONDS} s) | load avg | peak RSS MiB | datagrams | datagrams / CPU s | CPU µs / listener-s | CPU µs / listener-s after the joins | peers played | start-up p99 s | CLR mean | source upload ÷ stream |`,
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
].join('\n');
process.stdout.write(
  `${table}\n\nExponents over N = ${results.map((result) => result.peers).join(', ')} (least squares on log-log): CPU s ${fit('cpuSeconds')}, CPU s of joins ${fit('joinCpuSeconds')}, CPU after the joins ${exponent(results.map((result) => [result.peers, result.cpuSeconds - result.joinCpuSeconds])).toFixed(2)}, datagrams ${fit('datagramsDelivered')}, peak RSS ${fit('peakRssMiB')}\n`,
);
writeFileSync(join(docs, 'simulation-scale.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(
  join(docs, 'simulation-scale.svg'),
  linePlot(
    [
      {
        name: 'CPU µs per listener-second',
        points: results.map((result) => [result.peers, result.cpuMicrosPerListenerSecond]),
      },
      {
        name: 'CPU µs per listener-second after the joins',
        points: results.map((result) => [result.peers, result.steadyCpuMicrosPerListenerSecond]),
      },
      {
        name: 'peak RSS MiB',
        points: results.map((result) => [result.peers, result.peakRssMiB]),
        dashed: true,
      },
    ],
    {
      title: `Simulator cost per listener-second, one full-mesh cluster, ${results[0].seconds} s of 128 kbit/s`,
      xLabel: 'peers N',
      yLabel: 'CPU µs per listener-second; MiB',
      yLog: true,
      yFloor: 10,
    },
  ),
);
