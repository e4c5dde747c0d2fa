#!/usr/bin/env node
// P2PSP's headline experiment: chunk loss ratio against cluster size N (10-100)
// and buffer B (1N-4N), with 5 ms and 20 ms links, on the real cores. Prints Markdown
// tables and writes docs/simulation-clr.json and docs/simulation-clr-{default,p2psp}-{5,20}ms.svg.
// Run after building: pnpm --filter @p2psp/netsim build && node tooling/netsim/experiments/clr-vs-buffer.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClusterScenario } from '../dist/index.js';
import { linePlot } from './svg-plot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '../../../docs');
const sizes = [10, 25, 50, 75, 100];
const ratios = [1, 1.5, 2, 2.5, 3, 3.5, 4];
const latencies = [5, 20];
const seconds = 30;
const seed = 1;

// What P2PSP's own simulator reported for 5 ms links (as quoted: "about 8-10%
// loss at B = 2N, a knee near 2.5N and about 0.05-0.2% above 3N"): midpoints of those ranges.
const reference = [
  [2, 0.09],
  [3, 0.002],
  [3.5, 0.001],
  [4, 0.0005],
];

// Steady state, as P2PSP measured a formed team: peers join one every 250 ms (so joins do
// not race each other), and loss is counted from 13 s after the last join (the longest
// start-up, B/2 = 2N chunks of 64 ms at N = 100) for `seconds` more.
const joinSpacingMs = 250;
const results = [];
// Two pacings of the peer core (rule 3): its default spreads a source chunk's relays over
// at most B/4 chunk intervals; `p2psp` spreads them over the whole round (N intervals),
// as P2PSP's peers do (relaySpreadChunks set above any N).
const pacings = [
  ['default', null],
  ['p2psp', 65_535],
];
for (const [pacing, relaySpreadChunks] of pacings)
  for (const latencyMs of latencies) {
    for (const peers of sizes) {
      for (const ratio of ratios) {
        const bufferSize = Math.round(ratio * peers);
        const joinWindowMs = peers * joinSpacingMs;
        const measureFromMs = joinWindowMs + 13_000;
        const { summary } = runClusterScenario({
          peers,
          bufferSize,
          seconds: measureFromMs / 1000 + seconds,
          latencyMs,
          joinWindowMs,
          measureFromMs,
          relaySpreadChunks,
          seed,
          // Plain DBS, as P2PSP's simulator (RMS-lite repair is measured in docs "Repair").
          peerOptions: { repair: false },
        });
        results.push({
          pacing,
          latencyMs,
          peers,
          ratio,
          bufferSize,
          clrMean: summary.chunkLossRatio.mean,
          clrMax: summary.chunkLossRatio.max,
          startupMeanMs: summary.startupDelayMs.mean,
          playoutDelayMeanMs: summary.playoutDelayMs.mean,
          peersMeasured: summary.peersMeasured,
        });
        process.stderr.write(
          `${pacing}: ${latencyMs} ms, N = ${peers}, B = ${bufferSize}: CLR ${(summary.chunkLossRatio.mean * 100).toFixed(3)}%\n`,
        );
      }
    }
  }
// The other regime: every peer joins within the first second (joins race each other), loss
// counted from each peer's first played chunk, B = 3N.
const joinRace = [];
for (const latencyMs of latencies) {
  for (const peers of sizes) {
    const { summary } = runClusterScenario({
      peers,
      bufferSize: 3 * peers,
      seconds: 40,
      latencyMs,
      joinWindowMs: 1000,
      seed,
      peerOptions: { repair: false },
    });
    joinRace.push({
      latencyMs,
      peers,
      clrMean: summary.chunkLossRatio.mean,
      clrMax: summary.chunkLossRatio.max,
    });
  }
}
writeFileSync(
  join(docs, 'simulation-clr.json'),
  `${JSON.stringify({ steadyState: results, joinRace }, null, 2)}\n`,
);

const percent = (value) => `${(value * 100).toFixed(value > 0 && value < 0.001 ? 3 : 2)}%`;
for (const [pacing] of pacings)
  for (const latencyMs of latencies) {
    const header = `| N \\ B | ${ratios.map((ratio) => `${ratio}N`).join(' | ')} |`;
    const rule = `|---|${ratios.map(() => '---:').join('|')}|`;
    const rows = sizes.map((peers) => {
      const cells = ratios.map((ratio) => {
        const result = results.find(
          (entry) =>
            entry.pacing === pacing &&
            entry.latencyMs === latencyMs &&
            entry.peers === peers &&
            entry.ratio === ratio,
        );
        return percent(result.clrMean);
      });
      return `| ${peers} | ${cells.join(' | ')} |`;
    });
    process.stdout.write(
      `\n${pacing} pacing, ${latencyMs} ms links: mean chunk loss ratio\n\n${[header, rule, ...rows].join('\n')}\n`,
    );
    const race =
      pacing === 'default' ? joinRace.filter((entry) => entry.latencyMs === latencyMs) : [];
    if (race.length > 0)
      process.stdout.write(
        `\n${latencyMs} ms links, all joins within 1 s, B = 3N: ${race.map((entry) => `N = ${entry.peers}: ${percent(entry.clrMean)} (max ${percent(entry.clrMax)})`).join('; ')}\n`,
      );
    const series = sizes.map((peers) => ({
      name: `N = ${peers}`,
      points: ratios.map((ratio) => [
        ratio,
        results.find(
          (entry) =>
            entry.pacing === pacing &&
            entry.latencyMs === latencyMs &&
            entry.peers === peers &&
            entry.ratio === ratio,
        ).clrMean,
      ]),
    }));
    if (latencyMs === 5) {
      series.push({ name: 'P2PSP sim (quoted)', points: reference, dashed: true, colour: '#777' });
    }
    writeFileSync(
      join(docs, `simulation-clr-${pacing}-${latencyMs}ms.svg`),
      linePlot(series, {
        title: `CLR against B, ${pacing} relay pacing, ${latencyMs} ms links (0 drawn at 0.001%)`,
        xLabel: 'buffer B in multiples of the cluster size N',
        yLabel: 'mean chunk loss ratio (log scale)',
        yLog: true,
        yFloor: 1e-5,
        yMin: 1e-5,
        yMax: 1,
        yFormat: (value) => `${Number((value * 100).toPrecision(3))}%`,
      }),
    );
  }
