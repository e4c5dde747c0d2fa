import { afterAll, describe, expect, it } from 'vitest';
import {
  attack,
  type Cluster,
  type CountingSocket,
  countingSocket,
  forgedChunk,
  playedOut,
  startCluster,
} from './adversary.js';

// A stranger (a socket that never joined) sends chunks numbered inside every peer's play
// window, up to 20 chunk numbers ahead of the play position, in the name of a member id
// nobody uses and of a listed member, 20 times a second for 4 s.

const ATTACK_MILLIS = 4000;
const ROUND_MILLIS = 50;
const AHEAD = 20;

describe('adversary: forged chunks from a stranger, inside the play window', () => {
  let cluster: Cluster | undefined;
  let stranger: CountingSocket | undefined;
  afterAll(async () => {
    await stranger?.close();
    await cluster?.stop();
  });

  it('0 forged bytes reach any player, honest loss <= 1%', { timeout: 60_000 }, async () => {
    cluster = await startCluster({ peers: 4, seconds: 14 });
    const { peers } = cluster;
    stranger = await countingSocket();
    let forged = 0;
    const attacker = stranger;
    await attack(ATTACK_MILLIS, ROUND_MILLIS, () => {
      for (const [index, peer] of peers.entries()) {
        const play = peer.core.stats().playChunkNumber;
        if (play === null) continue;
        const victimOf = peers[(index + 1) % peers.length]!.core.memberId;
        for (let ahead = 1; ahead <= AHEAD; ahead++) {
          const origin = ahead % 2 === 0 ? victimOf : 9000 + ahead;
          attacker.send(peer.udp, forgedChunk(play + ahead, origin));
          forged++;
        }
      }
    });
    const { results, losses } = await playedOut(cluster);
    const dropped = peers.map((peer) => peer.core.stats().datagramsDropped.unlisted);
    console.log(
      `forged chunks: ${forged} sent by a stranger; per player forged/honest chunks played ${results.map((r) => `${r.forged}/${r.honest}`).join(' ')}; dropped as unlisted ${dropped.join(' ')}; loss ${losses.map((l) => (100 * l).toFixed(2)).join('% ')}%; chunks to the stranger ${stranger.counts.chunksIn}`,
    );
    expect(forged).toBeGreaterThan(1000);
    for (const [index, result] of results.entries()) {
      expect(result.forged, `player ${index} forged chunks`).toBe(0);
      expect(result.honest, `player ${index} honest chunks`).toBeGreaterThan(100);
      expect(losses[index]!, `peer ${index} loss`).toBeLessThanOrEqual(0.01);
      expect(dropped[index]!, `peer ${index} unlisted drops`).toBeGreaterThan(0);
    }
    expect(stranger.counts.chunksIn).toBe(0);
  });
});
