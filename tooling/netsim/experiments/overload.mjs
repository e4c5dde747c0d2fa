#!/usr/bin/env node
// Graceful overload: a quarter of the peers have a third of the upload a DBS peer needs
// (its share of the stream, about the bitrate, plus IP/UDP and chunk headers). Compares
// P2PSP's fixed 32-chunk thresholds (rule 7's debt and rule 8's complaints), rule 7 in stream
// time with rule 8 still fixed, and both in stream time (the default), with and without ACS,
// at 128 kbit/s (B = 64, 4 s) and 2 Mbit/s (B = 256, 1 s). Loss counts from 10 s (ACS has
// settled). Prints a Markdown table (docs/simulation.md, "Graceful overload";
// docs/cluster-health.md, rule 8).
// Run after building: pnpm --filter @p2psp/netsim build && node tooling/netsim/experiments/overload.mjs [seeds]
import { runClusterScenario } from '../dist/index.js';

const seeds = Number(process.argv[2] ?? 3);
/** Upload a peer needs per bit of stream: 1,024-byte chunks, 16-byte chunk header, 28 of IP/UDP. */
const WIRE_FACTOR = (1024 + 16 + 28) / 1024;

function run({ bitrate, threshold, acs, seed }) {
  const drops = { debt: 0, silent: 0 };
  const summary = runClusterScenario({
    peers: 20,
    bufferSize: bitrate > 1_000_000 ? 256 : 64,
    seconds: 30,
    measureFromMs: 10_000,
    bitrate,
    latencyMs: 20,
    jitterMs: 5,
    slowPeers: 5,
    slowUploadKbps: Math.round((bitrate * WIRE_FACTOR) / 1000 / 3),
    acs,
    seed,
    peerOptions: threshold === 'fixed' ? { debtThreshold: 32 } : {},
    sourceOptions: threshold === 'time' ? {} : { cluster: { complaints: { threshold: 32 } } },
    onTrace: (record) => {
      if (record.type !== 'core-event' || record.name !== 'neighbour-drop') return;
      if (record.reason === 'debt') drops.debt++;
      if (record.reason === 'silent') drops.silent++;
    },
  }).summary;
  const health = summary.health;
  return {
    clr: summary.chunkLossRatio.mean,
    clrMax: summary.chunkLossRatio.max,
    honestExpelled: health.honestExpelled.length,
    removedSilent: health.silentDrops.length,
    debtDrops: drops.debt,
    silentDrops: drops.silent,
    finalSize: summary.clusterSize.final,
  };
}

const LABELS = {
  fixed: '32, 32 chunks',
  debt: '2,048 ms, 32 chunks',
  time: '2,048 ms, 2,048 ms',
};
const percent = (value) => `${(value * 100).toFixed(2)}%`;
console.log(
  '| stream | thresholds (debt, complaints) | ACS | CLR mean | CLR max | honest expelled | removed by the source as silent | neighbour drops: debt | silent | members at the end |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const bitrate of [128_000, 2_000_000]) {
  for (const threshold of ['fixed', 'debt', 'time']) {
    for (const acs of [false, true]) {
      const runs = Array.from({ length: seeds }, (_, index) =>
        run({ bitrate, threshold, acs, seed: index + 1 }),
      );
      const mean = (key) => runs.reduce((sum, one) => sum + one[key], 0) / runs.length;
      const max = (key) => Math.max(...runs.map((one) => one[key]));
      const sum = (key) => runs.reduce((total, one) => total + one[key], 0);
      console.log(
        `| ${bitrate / 1000} kbit/s | ${LABELS[threshold]} | ${acs ? 'on' : 'off'} | ${percent(mean('clr'))} | ${percent(max('clrMax'))} | ${sum('honestExpelled')} | ${sum('removedSilent')} | ${sum('debtDrops')} | ${sum('silentDrops')} | ${runs.map((one) => one.finalSize).join(', ')} |`,
      );
    }
  }
}
console.log(
  `\n${seeds} seeds each (sums over seeds; CLR max: the worst peer of any seed); 20 peers, 5 of them slow.`,
);
