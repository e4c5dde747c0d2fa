#!/usr/bin/env node
// Signed chunks against unsigned, in the simulator (virtual time, the same cores): the
// ingest-to-player delay (p50, p99), start-up, chunk loss and upload, for 30 peers at
// 128 kbit/s and at 2 Mbit/s, 1,024-byte chunks, 20-50 ms paths with 5 ms jitter, 1% random
// loss per path, 40 s, seeds 1-5. Crypto is node:crypto's (@p2psp/host), as in the runtime.
// Prints one Markdown table per bitrate (docs/security.md, "Signed chunks").
// Run after building: pnpm turbo run build --filter=@p2psp/netsim... --filter=@p2psp/host &&
//   node tooling/netsim/experiments/signed-chunks.mjs [setting...]
import { argv, env } from 'node:process';

const { runClusterScenario } = await import(env.NETSIM ?? '../dist/index.js');
const { createVerifier, generateSigner, sha256 } = await import(
  '../../../packages/host/dist/index.js'
);

const seeds = [1, 2, 3, 4, 5];
const base = {
  peers: 30,
  bufferSize: 256,
  seconds: 40,
  latencyMs: 20,
  latencyMaxMs: 50,
  jitterMs: 5,
  loss: 0.01,
};
const signed = (digestChunks, peerOptions = {}) => ({
  sourceOptions: { signer: generateSigner(), sha256, digestChunks },
  peerOptions: { verifier: createVerifier(), sha256, ...peerOptions },
});
/** Each setting: a name and the scenario options it changes (the runtime's 500 ms delay). */
const settings = [
  { name: 'unsigned', options: { peerOptions: { playoutDelayMillis: 500 } } },
  { name: 'signed, 8 chunks a digest', options: signed(8, { playoutDelayMillis: 500 }) },
  { name: 'signed, 8 chunks a digest, 1,000 ms', options: signed(8, { playoutDelayMillis: 1000 }) },
];
const bitrates = [128_000, 2_000_000];

const chosen = argv.slice(2);
const pct = (ratio) => `${(ratio * 100).toFixed(2)} %`;
const ms = (value) => `${Math.round(value).toLocaleString('en-US')}`;

for (const bitrate of bitrates) {
  console.log(`\n**${bitrate / 1000} kbit/s**\n`);
  console.log(
    '| setting | delay p50 ms | delay p99 ms | start-up p99 ms | CLR mean | worst peer (seeds 1-5) | source upload | peer upload |',
  );
  console.log('|---|---:|---:|---:|---:|---|---:|---:|');
  for (const setting of settings) {
    if (chosen.length > 0 && !chosen.some((name) => setting.name.includes(name))) continue;
    const runs = seeds.map(
      (seed) => runClusterScenario({ ...base, ...setting.options, bitrate, seed }).summary,
    );
    const mean = (pick) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
    const worst = (pick) => Math.max(...runs.map(pick));
    console.log(
      `| ${setting.name} | ${ms(mean((run) => run.chunkDelayMs.p50))} | ${ms(worst((run) => run.chunkDelayMs.p99))} | ` +
        `${ms(worst((run) => run.startupDelayMs.p99))} | ${pct(mean((run) => run.chunkLossRatio.mean))} | ` +
        `${runs.map((run) => (run.chunkLossRatio.max * 100).toFixed(2)).join(', ')} % | ` +
        `${mean((run) => run.sourceUploadRatio).toFixed(3)} x | ${mean((run) => run.peerUploadRatio).toFixed(3)} x |`,
    );
  }
}
