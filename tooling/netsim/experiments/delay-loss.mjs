#!/usr/bin/env node
// Delay against loss on realistic links: 100 peers, one-way delay drawn per node so paths
// take 20-50 ms, 5 ms jitter, 1% loss per path, random or in bursts (Gilbert-Elliott,
// mean 3 datagrams), 60 s, seeds 1-5, for each setting of the repair and play-out delay.
// Prints one Markdown table per loss model (docs/simulation.md, "Delay and loss").
// Run after building: pnpm --filter @p2psp/netsim build && node tooling/netsim/experiments/delay-loss.mjs [setting...]
import { argv, env } from 'node:process';
import { printDelayTable } from './delay-table.mjs';

const { runClusterScenario } = await import(env.NETSIM ?? '../dist/index.js');

const seeds = [1, 2, 3, 4, 5];
const base = {
  peers: 100,
  bufferSize: 300,
  seconds: 60,
  latencyMs: 20,
  latencyMaxMs: 50,
  jitterMs: 5,
  loss: 0.01,
};
const lossModels = [
  { name: 'random 1%', burstLength: null },
  { name: 'bursty 1% (bursts of 3)', burstLength: 3 },
];
/** Each setting: a name and the scenario options it changes. */
const settings = [
  {
    name: "B/2 (the simulator's default before)",
    options: { peerOptions: { playoutDelayMillis: 3_600_000 } },
  },
  { name: 'repair, 500 ms', options: { peerOptions: { playoutDelayMillis: 500 } } },
  {
    name: 'repair + from source, 500 ms',
    options: { peerOptions: { playoutDelayMillis: 500, repairFromSource: true } },
  },
  {
    name: 'repair + from source, 600 ms',
    options: { peerOptions: { playoutDelayMillis: 600, repairFromSource: true } },
  },
  {
    name: 'repair + from source, 700 ms',
    options: { peerOptions: { playoutDelayMillis: 700, repairFromSource: true } },
  },
];

const chosen = argv.slice(2);

for (const model of lossModels) {
  console.log(`\n**${model.name}**\n`);
  printDelayTable(
    settings,
    seeds,
    chosen,
    (options, seed) =>
      runClusterScenario({ ...base, ...options, burstLength: model.burstLength, seed }).summary,
  );
}
