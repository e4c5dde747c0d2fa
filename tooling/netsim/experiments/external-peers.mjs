#!/usr/bin/env node
// External peers (seed 000) at N = 100 in the simulator, on the real cores. Prints the two
// Markdown tables of docs/nat.md:
// 1. 100 peers, 20% behind random-port symmetric NATs, 1% loss, 60 s, 5 seeds, the peers
//    reporting their NAT type (an RFC 5780 detection), then reporting unknown (the source
//    takes them as symmetric from their hello): every honest peer's loss, externals
//    included, expulsions, the source's upload, the peer-list traffic.
// 2. What re-onboarding costs the source: 100 peers, --max-members 80 (20 externals), 1%
//    loss, with 0 and 5 free riders (members that never relay, so the externals miss them).
// 3. What joining as an external costs: join to first chunk played (a player's first byte),
//    members against externals, in the settings of tables 1 and 2.
// Run after building: pnpm turbo run build --filter=@p2psp/netsim && node tooling/netsim/experiments/external-peers.mjs
// `--no-credentials`: a source without a key (it introduces every joiner to every member),
// the figures before membership credentials.
import { runClusterScenario } from '../dist/index.js';

const credentials = !process.argv.includes('--no-credentials');
const base = {
  peers: 100,
  bufferSize: 128,
  seconds: 60,
  loss: 0.01,
  measureFromMs: 10_000,
  credentials,
};
const percent = (ratio) => `${(100 * ratio).toFixed(2)}%`;
const worst = (peers) => Math.max(...peers.map((peer) => peer.chunkLossRatio ?? 1));

for (const natDetected of [true, false]) {
  console.log(
    natDetected
      ? 'NAT types detected (RFC 5780):'
      : 'NAT types unknown (the source takes them as symmetric from their hello):',
  );
  console.log(
    '| Seed | Externals | Worst loss, all honest | Worst loss, externals | Expelled | Source upload (whole run) | Source upload (from 10 s) | Peer lists | Peer-list B/s |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const seed of [1, 2, 3, 4, 5]) {
    const { summary, peers } = runClusterScenario({
      ...base,
      seed,
      natFraction: 0.2,
      natType: 'symmetric-random',
      natDetected,
    });
    const honest = peers.filter((peer) => !peer.freeRider);
    const externals = peers.filter((peer) => peer.role === 'external');
    console.log(
      `| ${seed} | ${externals.length} | ${percent(worst(honest))} | ${percent(worst(externals))} | ${summary.expulsions.length} | ${summary.sourceUploadRatio.toFixed(3)}x | ${summary.sourceUploadRatioMeasured.toFixed(3)}x | ${summary.externals.peerListsSent} | ${summary.externals.peerListBytesPerSecond.toFixed(0)} |`,
    );
  }
  console.log('');
}

console.log(
  '| Free riders | Seed | Re-onboardings | Peer lists sent | Source extra B/s | Worst loss, externals |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const freeRiders of [0, 5]) {
  for (const seed of [1, 2]) {
    const { summary, peers } = runClusterScenario({
      ...base,
      seed,
      freeRiders,
      sourceOptions: { maxMembers: 80 },
    });
    const externals = peers.filter((peer) => peer.role === 'external');
    console.log(
      `| ${freeRiders} | ${seed} | ${summary.externals.reonboardings} | ${summary.externals.peerListsSent} | ${summary.externals.peerListBytesPerSecond.toFixed(0)} | ${percent(worst(externals))} |`,
    );
  }
}

console.log('');
const ms = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${at(0.5).toFixed(0)} / ${at(0.9).toFixed(0)} / ${sorted.at(-1).toFixed(0)}`;
};
console.log(
  '| Setting | Seed | Members: join to first play, median / p90 / max ms | Externals: median / p90 / max ms |',
);
console.log('| --- | ---: | ---: | ---: |');
const settings = [
  ['cluster full (--max-members 80)', { sourceOptions: { maxMembers: 80 } }],
  [
    '20% random symmetric, detected',
    { natFraction: 0.2, natType: 'symmetric-random', natDetected: true },
  ],
];
for (const [name, options] of settings) {
  for (const seed of [1, 2]) {
    const { peers } = runClusterScenario({ ...base, seed, ...options });
    const delays = (role) =>
      peers
        .filter((peer) => peer.role === role && peer.startupDelayMs !== null)
        .map((peer) => peer.startupDelayMs);
    console.log(`| ${name} | ${seed} | ${ms(delays('peer'))} | ${ms(delays('external'))} |`);
  }
}
