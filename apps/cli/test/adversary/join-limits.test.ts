import { afterAll, describe, expect, it } from 'vitest';
import { type Cluster, rawJoin, startCluster } from './adversary.js';

// Sybils from one host: a source that takes at most 4 members per IP address, 2 peers of
// it running, then 6 more joins from 127.0.0.1 (by hand, over TCP).

describe('adversary: joins beyond the per-address limit', () => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses them, saying why; the peers keep playing', { timeout: 60_000 }, async () => {
    cluster = await startCluster({ peers: 2, seconds: 6, core: { maxMembersPerAddress: 4 } });
    const answers = [];
    for (let join = 0; join < 6; join++) answers.push(await rawJoin(cluster.source.endpoint));
    console.log(
      `join limits: ${answers.map((answer) => answer.type).join(', ')}; ${answers.find((answer) => answer.type === 'join-refused')?.message}`,
    );
    // Two more members fit (accepted, not yet helloed, they count); the rest are refused.
    expect(answers.slice(0, 2).map((answer) => answer.type)).toEqual([
      'join-accept',
      'join-accept',
    ]);
    for (const answer of answers.slice(2)) {
      expect(answer).toMatchObject({
        type: 'join-refused',
        reason: 'not-accepting',
        message: 'too many members from 127.0.0.1: 4 (the source takes at most 4 per address)',
      });
    }
    expect(cluster.source.status().joinsRefused).toBe(4);
    for (const peer of cluster.peers) expect(peer.core.stats().chunksLost).toBe(0);
  });
});
