import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sleep } from '../src/cluster-run.js';
import {
  createLab,
  type Lab,
  LabCluster,
  type NatType,
  type PlayerResult,
  runPair,
} from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

// External peers (seed 000) behind real NATs, with the built CLI: a sample of the 25 pairs
// (all of them: scripts/external-matrix.mjs, figures in docs/nat.md), a NAT that forgets
// its mappings mid-stream, and two peers behind one NAT that does not hairpin.
const cli = join(import.meta.dirname, '..', 'node_modules', 'p2psp', 'dist', 'p2psp.mjs');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
let skipReason = labSkipReason();
if (skipReason === null && !existsSync(cli)) {
  if (inCi) throw new Error(`CI=true but the CLI is not built (${cli}): run pnpm turbo run build`);
  skipReason = 'the CLI is not built: run `pnpm --filter p2psp build` first';
}

/**
 * The feed is 50 KiB/s, so a player reading 8 s gets about 400 KiB (less when the 2-core
 * machine is busy: the feed's 20 ms timer runs late). The check that matters: pieces
 * missing from the sequence, at most 1%.
 */
const PLAY_MILLIS = 8000;
const MIN_PLAYER_PIECES = 150;

function expectPlayed(player: PlayerResult, what: string, minPieces = MIN_PLAYER_PIECES): void {
  expect(player.pieces, what).toBeGreaterThan(minPieces);
  expect(player.bytes, what).toBeGreaterThanOrEqual(player.pieces * 1024);
  expect(player.missing, what).toBeLessThanOrEqual(Math.max(2, player.pieces / 100));
}

describe.skipIf(skipReason !== null)(
  `external peers behind real NATs${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    let cluster: LabCluster;

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 0 });
      cluster = new LabCluster(lab, cli);
      await cluster.startStun();
      return async () => {
        await lab?.destroy();
      };
    });

    afterEach(async () => {
      await cluster.stop();
    });

    // One pair of each way an external is served (fed members that punch:
    // streaming.test.ts): one the members reach on a predicted port, one no member can reach
    // (fed by the source), and a symmetric first joiner before any fed member.
    test.each([
      ['port-restricted-cone', 'symmetric-sequential', ['monitor', 'external']],
      ['port-restricted-cone', 'symmetric-random', ['monitor', 'external']],
      ['symmetric-random', 'symmetric-sequential', ['external', 'external']],
    ] as const)(
      '%s (joins first) and %s: both players get the stream',
      {
        timeout: 60_000,
      },
      async (a, b, roles) => {
        const result = await runPair(lab, cluster, a as NatType, b as NatType, {
          playMillis: PLAY_MILLIS,
        });
        console.log(`natlab externals, ${a} / ${b}: ${JSON.stringify(result)}`);
        expect(result.roles).toEqual(roles);
        expectPlayed(result.players[0], `player a (${a})`);
        expectPlayed(result.players[1], `player b (${b})`);
      },
    );

    test('a NAT that forgets its mappings mid-stream: the external joins again and plays again; a later joiner reaches it', {
      timeout: 120_000,
    }, async () => {
      // b's external is fed by a's member (a full cone admits it from any port).
      lab.setNatType('a', 'full-cone');
      lab.setNatType('b', 'symmetric-random');
      await cluster.startSource();
      await cluster.startPeer('a-host', lab.sites.a.hostAddress, cluster.stunFlag);
      await sleep(500);
      const external = await cluster.startPeer('b-host', lab.sites.b.hostAddress, cluster.stunFlag);
      await sleep(3000);
      expect((await cluster.sourceMembers()).map((member) => member.role)).toEqual([
        'monitor',
        'external',
      ]);
      expectPlayed(await cluster.play('b-host', 3000), 'player b before the flush', 50);

      // Every mapping of b's NAT is gone, 4 s into a player's 16 s: the member's relays hit
      // a closed port. The external's next report reaches the source from a new port, the
      // source tells it it is no member there (a goodbye), and it joins again: a new id,
      // a new onboarding from the new port.
      const during = cluster.play('b-host', 16_000);
      await sleep(4000);
      lab.runSync('b-router', 'conntrack', ['-F']);
      const outage = await during;
      const rejoined = external.stderr.split('\n').some((line) => line.includes('"rejoin-done"'));
      console.log(
        `natlab externals, conntrack flushed on b-router: ${JSON.stringify(outage)}, rejoined: ${rejoined}`,
      );
      expect(rejoined).toBe(true);
      expect(outage.pieces).toBeGreaterThan(150);
      expect(outage.longestGapMillis).toBeLessThan(10_000);
      const after = await cluster.play('b-host', PLAY_MILLIS);
      console.log(`natlab externals, after the flush: ${JSON.stringify(after)}`);
      expectPlayed(after, 'player b after the flush');

      // A member that joins after the external (beside a's host, same NAT) reaches it too.
      const neighbourAddress = lab.sites.a.neighbourAddress!;
      await cluster.startPeer('a-neighbour', neighbourAddress, cluster.stunFlag);
      await sleep(6000);
      expect((await cluster.sourceMembers()).map((member) => member.role)).toEqual([
        'monitor',
        'external',
        'member',
      ]);
      const [player, neighbour] = await Promise.all([
        cluster.play('b-host', PLAY_MILLIS),
        cluster.play('a-neighbour', PLAY_MILLIS),
      ]);
      console.log(`natlab externals, later joiner: ${JSON.stringify({ player, neighbour })}`);
      expectPlayed(player, 'player b with the later joiner');
      expectPlayed(neighbour, 'player of the later joiner');
    });

    test('two peers behind one NAT that does not hairpin talk over their private addresses', {
      timeout: 60_000,
    }, async () => {
      lab.setNatType('a', 'port-restricted-cone');
      await cluster.startSource();
      await cluster.startPeer('a-host', lab.sites.a.hostAddress);
      await sleep(500);
      await cluster.startPeer('a-neighbour', lab.sites.a.neighbourAddress!);
      await sleep(3000);
      // The source sees both at the router's address: without their private endpoints each
      // would miss every chunk the source gives the other (half of them).
      const members = await cluster.sourceMembers();
      expect(members.map((member) => member.endpoint.split(':')[0])).toEqual([
        lab.sites.a.wanAddress,
        lab.sites.a.wanAddress,
      ]);
      const [first, second] = await Promise.all([
        cluster.play('a-host', PLAY_MILLIS),
        cluster.play('a-neighbour', PLAY_MILLIS),
      ]);
      const statuses = await Promise.all([
        cluster.peerStatus('a-host'),
        cluster.peerStatus('a-neighbour'),
      ]);
      console.log(`natlab externals, same LAN: ${JSON.stringify({ first, second, statuses })}`);
      expectPlayed(first, 'player of a-host');
      expectPlayed(second, 'player of a-neighbour');
      // The one that joined second found the first at its private endpoint (the first may
      // have learnt it from its hello, at that endpoint already).
      expect(statuses[1].neighboursPrivate).toBe(1);
      for (const status of statuses) {
        expect(status.chunksLost).toBeLessThanOrEqual(Math.max(2, status.chunksPlayed / 100));
      }
    });
  },
);
