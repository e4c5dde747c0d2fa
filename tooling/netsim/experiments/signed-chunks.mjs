#!/usr/bin/env node
// Signed chunks against unsigned, in the simulator (virtual time, the same cores): the
// ingest-to-player delay (p50, p99), start-up, chunk loss and upload, for 30 peers at
// 128 kbit/s and at 2 Mbit/s, 1,024-byte chunks, 20-50 ms paths with 5 ms jitter, 1% random
// loss per path, 40 s, seeds 1-5. Crypto is node:crypto's (@p2psp/host), as in the runtime.
// Prints one Markdown table per bitrate (docs/security.md, "Signed chunks").
// Run after building: pnpm turbo run build --filter=@p2psp/netsim... --filter=@p2psp/host &&
//   node tooling/netsim/experiments/signed-chunks.mjs [setting...]
import { argv, env } from 'node:process';
import { printDelayTable } from './delay-table.mjs';

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

for (const bitrate of bitrates) {
  console.log(`\n**${bitrate / 1000} kbit/s**\n`);
  printDelayTable(
    settings,
    seeds,
    chosen,
    (options, seed) => runClusterScenario({ ...base, ...options, bitrate, seed }).summary,
  );
}
