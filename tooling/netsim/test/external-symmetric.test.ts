import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../src/cluster-scenario.js';

/**
 * Seed 000 at scale, a short sample of experiments/external-peers.mjs (5 seeds, figures in
 * docs/nat.md): 100 peers, 20% behind random-port symmetric NATs that report their type
 * (an RFC 5780 detection), 1% loss. Those are external peers, fed by the members.
 */
describe('100 peers, 20% behind random symmetric NATs, 1% loss (real cores)', () => {
  it('every honest peer loses <= 1%, externals included; nobody expelled; the source uploads the stream once', () => {
    const { summary, peers } = runClusterScenario({
      peers: 100,
      bufferSize: 128,
      seconds: 60,
      loss: 0.01,
      seed: 1,
      measureFromMs: 10_000,
      natFraction: 0.2,
      natType: 'symmetric-random',
      natDetected: true,
    });
    const externals = peers.filter((peer) => peer.role === 'external');
    expect(externals).toHaveLength(20);
    for (const peer of peers) {
      expect(peer.chunkLossRatio, peer.name).not.toBeNull();
      expect(peer.chunkLossRatio!, peer.name).toBeLessThanOrEqual(0.01);
    }
    expect(summary.expulsions).toEqual([]);
    // Once the joins are over (their introductions and notices are a one-time cost).
    expect(summary.sourceUploadRatioMeasured).toBeLessThanOrEqual(1.05);
    // Every member reaches every external: nobody asks for the peer list.
    expect(summary.externals).toMatchObject({ final: 20, onboarded: 20, reonboardings: 0 });
  });

  it('reporting unknown (no second source address): the source takes them as symmetric from their hello; nobody is expelled', () => {
    // p2psp sim --peers 10 --nat-fraction 0.3 --nat-type symmetric expelled an honest
    // symmetric peer. Each NAT remaps the peer's port, so the source takes it as random-port
    // symmetric; the first stays a member (every fed member reaches it) until the second,
    // apart from it, joins: both become external, and so does the third. A monitor behind
    // such a NAT stays a monitor (seed 1): the externals miss its share but what repair
    // brings back.
    for (const seed of [1, 2]) {
      const { summary, peers } = runClusterScenario({
        peers: 10,
        bufferSize: 128,
        seconds: 60,
        loss: 0.01,
        seed,
        measureFromMs: 10_000,
        natFraction: 0.3,
        natType: 'symmetric-random',
      });
      const natted = peers.filter((peer) => peer.behindNat);
      const natMembers = natted.filter((peer) => peer.role !== 'monitor');
      expect(natMembers.map((peer) => peer.role)).toEqual(natMembers.map(() => 'external'));
      expect(summary.health.honestExpelled).toEqual([]);
      expect(summary.expulsions).toEqual([]);
      for (const peer of peers) {
        expect(peer.chunkLossRatio, peer.name).not.toBeNull();
        expect(peer.chunkLossRatio!, peer.name).toBeLessThan(0.05);
      }
    }
  });
});
