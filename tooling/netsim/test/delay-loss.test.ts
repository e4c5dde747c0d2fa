import { PEER_DEFAULTS } from '@p2psp/peer';
import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../src/cluster-scenario.js';

/**
 * Delay and loss on realistic links at a reduced size (docs/simulation.md, section 7, has
 * the 100-peer table): 30 peers, paths of 20-50 ms, 5 ms jitter, 1% loss per path, 20 s,
 * the peer core's own play-out delay (500 ms). The chunks play about 850 ms after their
 * ingest; asking the source for what its hop lost (`repairFromSource`) cuts the loss.
 * Issue 15's target (every peer <= 0.1%) is not reached yet: what is asserted is what holds.
 */
const REALISTIC = {
  peers: 30,
  bufferSize: 90,
  seconds: 20,
  latencyMs: 20,
  latencyMaxMs: 50,
  jitterMs: 5,
  loss: 0.01,
} as const;
const SEEDS = [1, 2, 3, 4, 5];

function run(seed: number, repairFromSource: boolean) {
  return runClusterScenario({
    ...REALISTIC,
    seed,
    peerOptions: { playoutDelayMillis: PEER_DEFAULTS.playoutDelayMillis, repairFromSource },
  }).summary;
}

describe('delay and loss on 20-50 ms links with 1% loss (simulator, real cores)', () => {
  it('plays every chunk under 1 s after its ingest (p99); asking the source cuts the loss', () => {
    const meanLoss = (repairFromSource: boolean) =>
      SEEDS.reduce((sum, seed) => {
        const summary = run(seed, repairFromSource);
        expect(summary.peersMeasured).toBe(REALISTIC.peers);
        expect(summary.chunkDelayMs.p99).toBeLessThan(1000);
        expect(summary.chunksCorrupt).toBe(0);
        expect(summary.chunksOutOfOrder).toBe(0);
        return sum + summary.chunkLossRatio.mean;
      }, 0) / SEEDS.length;
    const plain = meanLoss(false);
    const fromSource = meanLoss(true);
    // Measured: 0.18% and 0.09% (the source hop's share of the loss is repaired).
    expect(fromSource).toBeLessThan(0.7 * plain);
    expect(fromSource).toBeLessThan(0.002);
  });
});
