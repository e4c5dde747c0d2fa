#!/usr/bin/env node
// Join time against cluster size: N = 10, 100 and 1,000 peers on 50 ms links (one-way,
// every path), the peer core's default play-out delay. Join time is what the loopback bench
// measures (docs/benchmarks.md): from the peer's start (its TCP join) to its first chunk
// played. Two ways of arriving:
//   - paced: joins spread at the source's default join rate (100 per second, at least 1 s);
//   - flood: every peer within the first second, the source's join-rate limit lifted (the
//     same as paced up to 100 peers, so only run above).
// Without loss or jitter the seed changes nothing (same trace hash): one seed per row.
// Prints a Markdown table and writes docs/simulation-join.json.
// Run after building: pnpm turbo run build --filter @p2psp/netsim... && node tooling/netsim/experiments/join-time.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_DEFAULTS } from '@p2psp/peer';
import { runClusterScenario } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '../../../docs');
const args = process.argv.slice(2);
const sizes = args.length > 0 ? args.map(Number) : [10, 100, 1000];
/** The source's default join rate (SourceConfig.joinsPerSecond). */
const JOINS_PER_SECOND = 100;

const results = [];
const arrivals = (peers) => (peers > JOINS_PER_SECOND ? ['paced', 'flood'] : ['paced']);

for (const peers of sizes) {
  for (const arrival of arrivals(peers)) {
    const joinWindowMs =
      arrival === 'flood' ? 1000 : Math.max(1000, (peers * 1000) / JOINS_PER_SECOND);
    {
      const seed = 1;
      const cpuStarted = process.cpuUsage();
      const run = runClusterScenario({
        peers,
        bufferSize: Math.max(64, 3 * peers),
        seconds: joinWindowMs / 1000 + 5,
        latencyMs: 50,
        joinWindowMs,
        seed,
        peerOptions: { playoutDelayMillis: PEER_DEFAULTS.playoutDelayMillis },
        ...(arrival === 'flood' ? { sourceOptions: { joinsPerSecond: 1_000_000 } } : {}),
      });
      const cpu = process.cpuUsage(cpuStarted);
      const joinMs = run.summary.startupDelayMs;
      const result = {
        peers,
        arrival,
        joinWindowMs,
        seed,
        joined: joinMs.count,
        joinP50Ms: joinMs.p50,
        joinP99Ms: joinMs.p99,
        joinMaxMs: joinMs.max,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        traceHash: run.summary.traceHash,
      };
      results.push(result);
      process.stderr.write(`${JSON.stringify(result)}\n`);
    }
  }
}

const rows = results.map(
  (result) =>
    `| ${result.peers} | ${result.arrival} | ${(result.joinWindowMs / 1000).toFixed(0)} s | ${result.joined} | ${Math.round(result.joinP50Ms)} | ${Math.round(result.joinP99Ms)} | ${Math.round(result.joinMaxMs)} | ${result.cpuSeconds.toFixed(1)} |`,
);
process.stdout.write(
  `${[
    '| peers N | arrival | joins over | peers that played | join p50 ms | join p99 ms | join max ms | CPU s |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n')}\n`,
);
writeFileSync(join(docs, 'simulation-join.json'), `${JSON.stringify(results, null, 2)}\n`);
