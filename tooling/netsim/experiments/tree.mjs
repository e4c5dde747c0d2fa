#!/usr/bin/env node
// Trees of clusters: N listeners in clusters of at most C members at 1% loss on every path,
// redirected down from the root by full sources to child sources fed by liberated peers.
// Each size runs in its own child process (peak RSS is its own). A leaf child source crashes
// 10 s into the measured window; its listeners rejoin at the root, which redirects them.
// Prints Markdown tables and writes docs/simulation-tree.json.
// Run after building: pnpm turbo run build --filter @p2psp/netsim...
//   node tooling/netsim/experiments/tree.mjs [LISTENERS...]     (default 1000 10000)
//   node tooling/netsim/experiments/tree.mjs --one LISTENERS    (one run, JSON)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '../../../docs');
const args = process.argv.slice(2);
const CLUSTER_SIZE = 100;
const CHILDREN_PER_CLUSTER = 10;
const LOSS = 0.01;
const SEED = 1;

/** Joins over a window that grows with the listeners (plus the scenario's warm-ups). */
const joinWindowMs = (listeners) => Math.max(5000, listeners * 2);

if (args[0] === '--one') {
  const listeners = Number(args[1]);
  const { planTree, runTreeScenario, TREE_WARMUP_MS } = await import('../dist/index.js');
  const window = joinWindowMs(listeners);
  // 10 s after the last listener started: the deepest places start depth x the warm-up late.
  const depth = planTree(listeners, CLUSTER_SIZE, CHILDREN_PER_CLUSTER).clustersPerDepth.length - 1;
  const measureFromMs = depth * TREE_WARMUP_MS + window + 10_000;
  const crashAtMs = measureFromMs + 10_000;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const run = runTreeScenario({
    seed: SEED,
    listeners,
    clusterSize: CLUSTER_SIZE,
    childrenPerCluster: CHILDREN_PER_CLUSTER,
    loss: LOSS,
    joinWindowMs: window,
    measureFromMs,
    // The deepest level: leaves, the most numerous clusters.
    crash: { atMs: crashAtMs, depth: -1 },
    seconds: (crashAtMs + 30_000) / 1000,
  });
  const cpu = process.cpuUsage(cpuStarted);
  process.stdout.write(
    JSON.stringify({
      ...run,
      wallSeconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      loadAverage: loadavg()[0],
    }),
  );
  process.exit(0);
}

const sizes = args.length > 0 ? args.map(Number) : [1000, 10_000];
const runs = sizes.map((listeners) => {
  process.stderr.write(`tree: ${listeners} listeners...\n`);
  const output = execFileSync(
    process.execPath,
    ['--max-old-space-size=16384', fileURLToPath(import.meta.url), '--one', String(listeners)],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(output);
});

const percent = (ratio) => `${(ratio * 100).toFixed(2)}%`;
const ms = (value) => Math.round(value).toLocaleString('en');
const lines = [];
lines.push(
  `C = ${CLUSTER_SIZE}, ${CHILDREN_PER_CLUSTER} child clusters under each inner cluster, ${percent(LOSS)} loss on every path, 20 ms links, 128 kbit/s, seed ${SEED}.`,
  '',
  '| listeners | clusters per depth | depth | log_C(listeners) | loss mean | loss p99 | loss max | listeners > 1% | root upload ÷ stream | join p99 ms | start-up p99 ms | wall s | CPU s | peak RSS MiB | load avg |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
);
for (const run of runs) {
  lines.push(
    `| ${run.listeners.toLocaleString('en')} | ${run.plan.clustersPerDepth.join(' / ')} | ${run.depth} | ${(Math.log(run.listeners) / Math.log(CLUSTER_SIZE)).toFixed(2)} | ${percent(run.lossRatio.mean)} | ${percent(run.lossRatio.p99)} | ${percent(run.lossRatio.max)} | ${run.listenersOverOnePercent} | ${run.rootUploadRatioMeasured.toFixed(3)} | ${ms(run.joinMs.p99)} | ${ms(run.startupMs.p99)} | ${run.wallSeconds.toFixed(0)} | ${run.cpuSeconds.toFixed(0)} | ${run.peakRssMiB.toFixed(0)} | ${run.loadAverage.toFixed(1)} |`,
  );
}
lines.push(
  '',
  '| listeners | depth | clusters | listeners there | loss mean | loss max | delay p50 ms | delay p99 ms |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
);
for (const run of runs) {
  for (const depth of run.perDepth) {
    lines.push(
      `| ${run.listeners.toLocaleString('en')} | ${depth.depth} | ${depth.clusters} | ${depth.listeners} | ${percent(depth.lossRatio.mean)} | ${percent(depth.lossRatio.max)} | ${ms(depth.delayMs.p50)} | ${ms(depth.delayMs.p99)} |`,
    );
  }
}
lines.push(
  '',
  '| listeners | crashed | its listeners | playing again | crash to playing again p50 ms | p99 ms | max ms | longest silence p50 ms | max ms |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
);
for (const run of runs) {
  const crash = run.crash;
  lines.push(
    `| ${run.listeners.toLocaleString('en')} | ${crash.source} at ${(crash.atMs / 1000).toFixed(0)} s | ${crash.listeners} | ${crash.rejoined} | ${ms(crash.resumeMs.p50)} | ${ms(crash.resumeMs.p99)} | ${ms(crash.resumeMs.max)} | ${ms(crash.gapMs.p50)} | ${ms(crash.gapMs.max)} |`,
  );
}
console.log(lines.join('\n'));
writeFileSync(join(docs, 'simulation-tree.json'), `${JSON.stringify(runs, null, 1)}\n`);
