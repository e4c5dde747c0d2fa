import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../src/cluster-scenario.js';

/** Seed 000 on the simulated network: joiners beyond `maxMembers` are fed by the members. */
describe('external peers (seed 000, real cores)', () => {
  it('10 peers, room for 6 fed members, 1% loss: the 4 externals keep playing, nobody is dropped or expelled', () => {
    const { summary, peers } = runClusterScenario({
      peers: 10,
      bufferSize: 64,
      seconds: 60,
      loss: 0.01,
      seed: 5,
      measureFromMs: 5000,
      sourceOptions: { maxMembers: 6 },
    });
    const externals = peers.filter((peer) => peer.role === 'external');
    expect(externals).toHaveLength(4);
    // Every member reaches every external: no re-onboarding, no peer list asked for.
    expect(summary.externals).toMatchObject({
      final: 4,
      onboarded: 4,
      noticesSent: 4 * 6,
      reonboardings: 0,
      peerListsSent: 0,
    });
    for (const peer of peers) {
      expect(peer.chunkLossRatio, peer.name).not.toBeNull();
      expect(peer.chunkLossRatio!, peer.name).toBeLessThanOrEqual(0.01);
    }
    // Externals are fed by the members, never by the source (beyond their three onboarding
    // copies).
    for (const external of externals) expect(external.chunksFromSource).toBe(3);
    expect(summary.expulsions).toEqual([]);
    expect(summary.sourceUploadRatio).toBeLessThan(1.05);
  });
});
