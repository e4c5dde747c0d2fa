#!/usr/bin/env node
// Scale experiment: 100, 300 and 1,000 peers streaming 60 simulated seconds of a
// 128 kbit/s stream, each size in its own child process so peak memory is its own.
// Prints a Markdown table and writes docs/simulation-scale.json and docs/simulation-scale.svg.
// Run after building: pnpm --filter @p2psp/netsim build && node tooling/netsim/experiments/scale.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linePlot } from './svg-plot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '../../../docs');
const args = process.argv.slice(2);

if (args[0] === '--one') {
  const peers = Number(args[1]);
  const seconds = Number(args[2] ?? 60);
  const { runClusterScenario } = await import('../dist/index.js');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const run = runClusterScenario({
    peers,
    // B = N: the smallest buffer rule 5 allows; the play-out delay (B/2 chunks) is then
    // N x 32 ms, which must fit in the 60 s run for N = 1,000.
    bufferSize: peers,
    seconds,
    bitrate: 128_000,
    latencyMs: 20,
    jitterMs: 5,
    loss: 0.001,
    seed: 1,
    // The figures in docs/simulation.md section 3 are plain DBS (RMS-lite repair off).
    peerOptions: { repair: false },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  // CPU seconds of this process: the fair figure when other jobs share the 2 cores.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const summary = run.summary;
  process.stdout.write(
    `${JSON.stringify({
      peers,
      seconds,
      wallSeconds,
      cpuSeconds,
      loadAverage: loadavg()[0],
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      datagramsDelivered: summary.datagramsDelivered,
      eventsProcessed: summary.eventsProcessed,
      datagramsPerWallSecond: summary.datagramsDelivered / wallSeconds,
      datagramsPerCpuSecond: summary.datagramsDelivered / cpuSeconds,
      clrMean: summary.chunkLossRatio.mean,
      clrMax: summary.chunkLossRatio.max,
      startupMeanMs: summary.startupDelayMs.mean,
      sourceUploadRatio: summary.sourceUploadRatio,
      sourceChunkRatio: summary.sourceChunkRatio,
      traceHash: summary.traceHash,
    })}\n`,
  );
  process.exit(0);
}

const sizes = args.length > 0 ? args.map(Number) : [100, 300, 1000];
const results = [];
for (const peers of sizes) {
  const output = execFileSync(
    process.execPath,
    ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--one', String(peers)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const result = JSON.parse(output.trim().split('\n').at(-1));
  results.push(result);
  process.stderr.write(`N = ${peers}: ${result.wallSeconds.toFixed(1)} s wall\n`);
}
const rows = results.map(
  (result) =>
    `| ${result.peers} | ${result.wallSeconds.toFixed(1)} | ${result.cpuSeconds.toFixed(1)} | ${result.loadAverage.toFixed(1)} | ${result.peakRssMiB.toFixed(0)} | ${result.datagramsDelivered.toLocaleString('en-US')} | ${Math.round(result.datagramsPerWallSecond).toLocaleString('en-US')} | ${Math.round(result.datagramsPerCpuSecond).toLocaleString('en-US')} | ${(result.cpuSeconds / results[0].cpuSeconds).toFixed(1)} | ${(result.datagramsDelivered / results[0].datagramsDelivered).toFixed(1)} | ${(result.clrMean * 100).toFixed(3)}% | ${(result.startupMeanMs / 1000).toFixed(1)} | ${result.sourceUploadRatio.toFixed(3)} | ${result.sourceChunkRatio.toFixed(3)} |`,
);
const table = [
  '| peers N | wall s | CPU s | load avg | peak RSS MiB | datagrams delivered | datagrams / wall s | datagrams / CPU s | CPU vs N=100 | datagrams vs N=100 | CLR mean | startup s | source upload ratio | source chunk ratio |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
].join('\n');
process.stdout.write(`${table}\n`);
writeFileSync(join(docs, 'simulation-scale.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(
  join(docs, 'simulation-scale.svg'),
  linePlot(
    [
      { name: 'wall seconds', points: results.map((result) => [result.peers, result.wallSeconds]) },
      { name: 'CPU seconds', points: results.map((result) => [result.peers, result.cpuSeconds]) },
      {
        name: 'datagrams / 100k',
        points: results.map((result) => [result.peers, result.datagramsDelivered / 1e5]),
        dashed: true,
      },
    ],
    {
      title: 'Cost of 60 simulated seconds (128 kbit/s) against cluster size',
      xLabel: 'peers N',
      yLabel: 'wall seconds; datagrams / 100,000',
      xMin: 0,
    },
  ),
);
