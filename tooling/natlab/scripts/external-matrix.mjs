#!/usr/bin/env node
// The 25 NAT pairs with a streaming cluster (docs/nat.md, "External peers in the NAT lab"):
// `p2psp source` on the public host, a `p2psp peer` behind each router (site a joins first),
// both detecting their NAT against `p2psp nat serve`; a player reads each peer's /stream for
// 8 s. Prints a Markdown table. Needs root and the built CLI; about 25 s a pair.
// --plain: the peers detect against the source's plain STUN instead (every NAT `unknown`).
// Usage: pnpm turbo run build --filter=@p2psp/natlab... && sudo node tooling/natlab/scripts/external-matrix.mjs
import { join } from 'node:path';
import { createLab, LabCluster, NAT_TYPES, runPair } from '../dist/index.js';

const cli = join(import.meta.dirname, '..', 'node_modules', 'p2psp', 'dist', 'p2psp.mjs');
const plain = process.argv.includes('--plain');
const only = process.argv.slice(2).filter((argument) => argument !== '--plain');
const lab = createLab({ runAddressCount: 0 });
const names = {
  'full-cone': 'full cone',
  'restricted-cone': 'restricted cone',
  'port-restricted-cone': 'port-restricted',
  'symmetric-sequential': 'symmetric seq.',
  'symmetric-random': 'symmetric random',
};
const percent = (part, whole) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
const side = (player, status) =>
  `${(player.bytes / 1024).toFixed(0)} KiB, ${percent(player.missing, player.pieces + player.missing)} missing; ${status.chunksPlayed} played, ${status.chunksLost} lost`;
try {
  const cluster = new LabCluster(lab, cli);
  await cluster.startStun();
  console.log('| a (joins first) | b | roles (source) | player a | player b |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const a of NAT_TYPES) {
    for (const b of NAT_TYPES) {
      if (only.length > 0 && !only.includes(`${a}/${b}`)) continue;
      let result;
      try {
        result = await runPair(lab, cluster, a, b, { rfc5780: !plain });
      } catch (error) {
        console.log(`| ${names[a]} | ${names[b]} | failed: ${String(error).split('\n')[0]} | | |`);
        continue;
      }
      console.log(
        `| ${names[a]} | ${names[b]} | ${result.roles.join(', ')} | ${side(result.players[0], result.statuses[0])} | ${side(result.players[1], result.statuses[1])} |`,
      );
    }
  }
} finally {
  await lab.destroy();
}
