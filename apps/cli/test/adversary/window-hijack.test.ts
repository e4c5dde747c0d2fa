import { afterAll, describe, expect, it } from 'vitest';
import {
  attack,
  BUFFER_SIZE,
  type Cluster,
  type CountingSocket,
  forgedChunk,
  playedOut,
  rawMember,
  startCluster,
} from './adversary.js';

// A member the source listed (joined by hand, relaying its share honestly) sends chunks
// numbered far ahead of the stream, inside the buffer window (B = 64), in its own name:
// the window hijack of one datagram a few dozen chunk numbers ahead. 4 per peer per
// second for 6 s, each further ahead of the play position than anything the source cut.

const ATTACK_MILLIS = 6000;
const ROUND_MILLIS = 250;

describe('adversary: forged far-future chunk numbers from a listed member', () => {
  let cluster: Cluster | undefined;
  let member: { memberId: number; socket: CountingSocket } | undefined;
  afterAll(async () => {
    await member?.socket.close();
    await cluster?.stop();
  });

  it('no skipped audio: every peer keeps playing the ingest, loss <= 1%', {
    timeout: 60_000,
  }, async () => {
    cluster = await startCluster({ peers: 4, seconds: 16 });
    const { peers } = cluster;
    member = await rawMember(cluster);
    let forged = 0;
    const attacker = member;
    await attack(ATTACK_MILLIS, ROUND_MILLIS, () => {
      for (const peer of peers) {
        const play = peer.core.stats().playChunkNumber;
        if (play === null) continue;
        for (const ahead of [BUFFER_SIZE - 24, BUFFER_SIZE - 1]) {
          attacker.socket.send(peer.udp, forgedChunk(play + ahead, attacker.memberId));
          forged++;
        }
      }
    });
    const { results, losses } = await playedOut(cluster);
    const dropped = peers.map((peer) => peer.core.stats().datagramsDropped['ahead-of-schedule']);
    console.log(
      `window hijack: ${forged} far-future chunks from a listed member; per player forged/honest chunks played ${results.map((r) => `${r.forged}/${r.honest}`).join(' ')}; loss ${losses.map((l) => (100 * l).toFixed(2)).join('% ')}%; dropped ahead-of-schedule ${dropped.join(' ')}`,
    );
    expect(forged).toBeGreaterThan(100);
    for (const [index, result] of results.entries()) {
      expect(losses[index]!, `peer ${index} loss`).toBeLessThanOrEqual(0.01);
      expect(result.forged, `player ${index} forged chunks`).toBe(0);
      expect(result.honest, `player ${index} honest chunks`).toBeGreaterThan(100);
      expect(dropped[index]!, `peer ${index} ahead-of-schedule drops`).toBeGreaterThan(0);
    }
  });
});
