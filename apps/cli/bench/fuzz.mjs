#!/usr/bin/env node
// The fuzz run of the security issue, the full figure, run by `pnpm bench` (never by
// tests; test/fuzz.test.ts runs a short sample): 10^6 well-formed and mutated datagrams
// and a join connection every 4,000 (stalled, oversized, truncated, garbage, mutated,
// valid) against a live source and two peers on loopback, an honest player on the first.
// Prints what was sent, the nodes' drop counters, joins, the honest player, and memory.
// Reproduce: pnpm turbo run build --filter=p2psp... && node --expose-gc apps/cli/bench/fuzz.mjs
// (P2PSP_BENCH_QUICK=1: 10^5 datagrams; P2PSP_FUZZ_SEED=N: another sample).
import { runFuzz } from '../test/fuzz.mjs';

const quick = process.env.P2PSP_BENCH_QUICK === '1';
const datagrams = quick ? 100_000 : 1_000_000;
const seed = Number(process.env.P2PSP_FUZZ_SEED ?? 1);
const rate = 2500;
const result = await runFuzz({
  datagrams,
  seed,
  rate,
  maxSeconds: (datagrams / rate) * 2,
  onProgress: (sent) => console.error(`fuzz: ${sent} datagrams sent`),
});

const count = (value) => value.toLocaleString('en-US');
const list = (record) =>
  Object.entries(record)
    .sort(([, a], [, b]) => b - a)
    .map(([name, value]) => `${name} ${count(value)}`)
    .join(', ');
console.log(`fuzz (seed ${seed}, Node ${process.version}, gc ${globalThis.gc ? 'on' : 'off'})`);
console.log(
  `sent: ${count(result.sent)} datagrams in ${result.sendSeconds.toFixed(1)} s (${result.sendErrors} send errors)`,
);
console.log(`by mutation: ${list(result.byMutation)}`);
console.log(`by message type (before mutation): ${list(result.byType)}`);
console.log(
  `received by the nodes: source ${count(result.received.source)}, peer ${count(result.received.peer)}, second peer ${count(result.received.secondPeer)}`,
);
console.log(`source drops: ${list(result.drops.source)}`);
console.log(`peer drops (both peers): ${list(result.drops.peers)}`);
console.log('| join connection | opened | answered | closed by the source | errors |');
console.log('|---|---:|---:|---:|---:|');
for (const [kind, figures] of Object.entries(result.tcp)) {
  console.log(
    `| ${kind} | ${figures.opened} | ${figures.answered} | ${figures.closedBySource} | ${figures.errors} |`,
  );
}
console.log(`connections not opened (8 already open): ${result.tcpSkippedBusy}`);
console.log(`joins: ${JSON.stringify(result.joins)}`);
console.log(
  `stranger sockets: ${count(result.unauthenticated.bytesOut)} B out, ${count(result.unauthenticated.bytesIn)} B back`,
);
console.log(
  `nodes stopped during the run: ${result.stopped.length === 0 ? 'none' : result.stopped.join('; ')}`,
);
console.log(`log lines: ${JSON.stringify(result.logs)}`);
const { honest } = result;
console.log(
  `honest player: ${count(honest.playerBytes)} B, longest gap ${honest.playerMaxGapMs} ms${honest.playerError ? `, error ${honest.playerError}` : ''}; peer played ${count(honest.chunksPlayed)} chunks, lost ${count(honest.chunksLost)} (${((100 * honest.chunksLost) / Math.max(1, honest.chunksLost + honest.chunksPlayed)).toFixed(2)}%), state ${honest.state ?? honest.peerState}`,
);
console.log('| datagrams sent | RSS (MiB) | heap used (MiB) |');
console.log('|---:|---:|---:|');
for (const sample of result.memory) {
  console.log(
    `| ${count(sample.sent)} | ${sample.rssMiB.toFixed(1)} | ${sample.heapMiB.toFixed(1)} |`,
  );
}
