import { generateSigner } from '@p2psp/host';
import { encodeDatagram, signCredential } from '@p2psp/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers.js';
import {
  attack,
  type Cluster,
  type CountingSocket,
  countingSocket,
  startCluster,
} from './adversary.js';

// Ten sockets that never joined say hello to every peer and to the source, under made-up
// member ids and under the ids of real members, and answer every hello they get with a
// hello-ack echoing its nonce (what made a stranger a verified neighbour, fed the stream).
// Every third hello carries a membership credential naming the stranger where it is, signed
// with a key of its own, not the source's. 20 rounds a second for 4 s.

const STRANGERS = 10;
const ATTACK_MILLIS = 4000;
const ROUND_MILLIS = 50;

describe('adversary: stranger hellos and nonce echoes', () => {
  let cluster: Cluster | undefined;
  const strangers: CountingSocket[] = [];
  afterAll(async () => {
    await Promise.all(strangers.map((stranger) => stranger.close()));
    await cluster?.stop();
  });

  it('no chunk to a stranger; unauthenticated bytes out / in <= 1', {
    timeout: 60_000,
  }, async () => {
    cluster = await startCluster({ peers: 4, seconds: 10 });
    const { peers, source } = cluster;
    for (let index = 0; index < STRANGERS; index++) {
      const stranger = await countingSocket();
      stranger.onMessage = (message, from) => {
        if (message.type === 'hello') {
          stranger.send(
            from,
            encodeDatagram({ type: 'hello-ack', memberId: 9000 + index, nonce: message.nonce }),
          );
        }
      };
      strangers.push(stranger);
    }
    const targets = [...peers.map((peer) => peer.udp), source.endpoint];
    const listedIds = peers.map((peer) => peer.core.memberId);
    const forger = generateSigner();
    const forged = strangers.map((stranger, index) =>
      signCredential(
        forger,
        {
          memberId: 9000 + index,
          endpoint: stranger.endpoint,
          privateEndpoint: null,
          flags: { monitor: false, external: false, liberated: false },
        },
        0xffff_fff0,
      ),
    );
    let round = 0;
    await attack(ATTACK_MILLIS, ROUND_MILLIS, () => {
      for (const [index, stranger] of strangers.entries()) {
        for (const to of targets) {
          const memberId = round % 2 === 0 ? 9000 + index : listedIds[round % listedIds.length]!;
          const hello =
            round % 3 === 0 ? { memberId: 9000 + index, credential: forged[index] } : { memberId };
          stranger.send(to, encodeDatagram({ type: 'hello', nonce: round + 1, ...hello }));
        }
      }
      round++;
    });
    // Anything still on its way (a retry storm would go on after the attack).
    await sleep(1000);
    const bytesOut = strangers.reduce((sum, stranger) => sum + stranger.counts.bytesOut, 0);
    const bytesIn = strangers.reduce((sum, stranger) => sum + stranger.counts.bytesIn, 0);
    const chunksIn = strangers.reduce((sum, stranger) => sum + stranger.counts.chunksIn, 0);
    console.log(
      `stranger hellos: ${STRANGERS} sockets sent ${bytesOut} B and received ${bytesIn} B (${chunksIn} chunks): out / in ${(bytesIn / bytesOut).toFixed(3)}`,
    );
    expect(bytesOut).toBeGreaterThan(10_000);
    expect(chunksIn).toBe(0);
    expect(bytesIn / bytesOut).toBeLessThanOrEqual(1);
    for (const peer of peers) {
      expect(peer.core.neighbours().some((neighbour) => neighbour.memberId >= 9000)).toBe(false);
    }
  });
});
