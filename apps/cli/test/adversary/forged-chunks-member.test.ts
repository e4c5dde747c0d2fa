import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import {
  attack,
  type Cluster,
  type CountingSocket,
  forgedChunk,
  playedOut,
  rawMember,
  startCluster,
} from './adversary.js';

// A member the source listed (joined by hand, relaying its own share honestly) forges the
// chunks the others relay: every 100 ms for 4 s, to every peer, a copy with random bytes of
// each chunk number from 16 behind the newest the source sent it to 2 ahead (its own chunks
// excepted), in the origin's name. Its copies go out at once, so they often come before the
// real ones, which their origins relay only once they are verified: signed chunks must drop
// the forged copies and still take the real ones.

const ATTACK_MILLIS = 4000;
const ROUND_MILLIS = 100;
const BEHIND = 16;
const AHEAD = 2;

describe('adversary: forged chunks from a listed member, inside the play window', () => {
  let cluster: Cluster | undefined;
  let member: { memberId: number; socket: CountingSocket } | undefined;
  afterAll(async () => {
    await member?.socket.close();
    await cluster?.stop();
  });

  it('0 forged bytes reach any player, honest loss <= 1%', { timeout: 60_000 }, async () => {
    cluster = await startCluster({ peers: 4, seconds: 12, signed: true });
    const { peers } = cluster;
    member = await rawMember(cluster);
    const attacker = member;
    // What the attacker learns as a member: the source's chunks to it (their numbers).
    const own = new Set<number>();
    let newest = -1;
    const relayHonestly = attacker.socket.onMessage;
    attacker.socket.onMessage = (message, from, bytes) => {
      relayHonestly?.(message, from, bytes);
      if (message.type !== 'chunk' || from.port !== cluster?.source.endpoint.port) return;
      own.add(message.chunkNumber);
      newest = Math.max(newest, message.chunkNumber);
    };
    await until(() => newest >= 0, 5000, 'a chunk to the attacker');
    let forged = 0;
    await attack(ATTACK_MILLIS, ROUND_MILLIS, () => {
      for (const peer of peers) {
        for (let number = newest - BEHIND; number <= newest + AHEAD; number++) {
          if (number < 0 || own.has(number)) continue;
          const origin = peers[number % peers.length]!.core.memberId;
          attacker.socket.send(peer.udp, forgedChunk(number, origin));
          forged++;
        }
      }
    });
    const { results, losses } = await playedOut(cluster);
    const dropped = peers.map((peer) => peer.core.stats().datagramsDropped['forged-chunk']);
    console.log(
      `forged chunks: ${forged} sent by a listed member; per player forged/honest chunks played ${results.map((r) => `${r.forged}/${r.honest}`).join(' ')}; dropped as forged-chunk ${dropped.join(' ')}; loss ${losses.map((l) => (100 * l).toFixed(2)).join('% ')}%`,
    );
    expect(forged).toBeGreaterThan(1000);
    for (const [index, result] of results.entries()) {
      expect(result.forged, `player ${index} forged chunks`).toBe(0);
      expect(result.honest, `player ${index} honest chunks`).toBeGreaterThan(100);
      expect(losses[index]!, `peer ${index} loss`).toBeLessThanOrEqual(0.01);
      expect(dropped[index]!, `peer ${index} forged-chunk drops`).toBeGreaterThan(0);
    }
  });
});
