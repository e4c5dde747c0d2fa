#!/usr/bin/env node
// The player port under abuse, the full figure, run by
// `pnpm bench` (never by tests; test/player-abuse.test.ts runs a short sample): one
// `p2psp peer` process serving 300 readers, 60 players that never read and 10 that read
// 1 KiB/s of the 16 KiB/s stream, while a flood opens 200 connections a second for 20 s
// (half send nothing, half a head a line at a time) and 50 requests come beyond the cap.
// Prints the readers' largest gap, when the abusers were all dropped, the peer's counters,
// and the peer's resident memory and the kernel's TCP memory (machine-wide).
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/player-abuse.mjs
// (P2PSP_BENCH_QUICK=1: 100 readers, 20 + 5 abusers).
import { runPlayerAbuse } from '../test/player-abuse.mjs';

const quick = process.env.P2PSP_BENCH_QUICK === '1';
const scenario = quick
  ? { readers: 100, nonReaders: 20, slowReaders: 5, floodPerSecond: 100, overCapRequests: 20 }
  : { readers: 300, nonReaders: 60, slowReaders: 10, floodPerSecond: 200, overCapRequests: 50 };
const result = await runPlayerAbuse({ ...scenario, floodSeconds: 20, seconds: 45 });

const mib = (value) => `${value.toFixed(1)} MiB`;
const { memory } = result;
console.log(`players on one peer (128 kbit/s MP3, Node ${process.version})`);
console.log(
  `readers: ${result.readers.stillPlaying}/${result.readers.count} still playing, largest gap ${result.readers.maxGapMs} ms (median of each reader's largest: ${result.readers.medianGapMs} ms)`,
);
console.log(
  `abusers: ${result.abusers.nonReaders} never reading + ${result.abusers.slowReaders} reading 1 KiB/s, all dropped within ${result.abusers.droppedWithinMs ?? 'never'} ms`,
);
console.log(
  `over the cap: ${result.overCap.statusLines.filter((line) => line.includes(' 503 ')).length}/${result.overCap.requests} answered 503, Retry-After ${[...new Set(result.overCap.retryAfter)].join(', ')}`,
);
console.log(
  `flood: ${result.flood.opened} connections, ${result.flood.closed} closed, the longest held ${result.flood.maxOpenMs} ms`,
);
console.log(
  `playersDropped: ${JSON.stringify(result.playersDropped)}; player-drop log lines: ${result.playerDropLogLines}`,
);
console.log('| | peer resident memory | kernel TCP memory (machine) |');
console.log('|---|---:|---:|');
for (const [name, figures] of Object.entries(memory)) {
  console.log(`| ${name} | ${mib(figures.residentMiB)} | ${mib(figures.kernelTcpMiB)} |`);
}
