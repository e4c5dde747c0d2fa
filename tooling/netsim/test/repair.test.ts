import { describe, expect, it } from 'vitest';
import { type ClusterScenarioOptions, runClusterScenario } from '../src/cluster-scenario.js';

/**
 * RMS-lite repair (packages/peer/src/core/chunk-repair.ts) with the real cores on the
 * simulated network: the "50 peers, 1% loss, B = 3N, every peer plays with CLR under
 * 1%". Repair fixes the origin -> peer hop; the source -> origin hop needs LRS (the source
 * resends what the monitor lost), so the target is met with both. The figures without them
 * are printed beside it (docs/simulation.md, "Repair"). Statistical bounds only.
 */

const ISSUE_4 = { peers: 50, bufferSize: 150, seconds: 30, loss: 0.01 } as const;

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

function run(label: string, options: Partial<ClusterScenarioOptions> & { seed: number }) {
  const { summary } = runClusterScenario({ ...ISSUE_4, ...options });
  const { mean, p99, max } = summary.chunkLossRatio;
  console.log(
    `${label.padEnd(26)} seed ${options.seed}: CLR mean ${percent(mean)}  p99 ${percent(p99)}  max ${percent(max)}  ` +
      `peer upload ${summary.peerUploadRatio.toFixed(3)}x  source ${summary.sourceUploadRatio.toFixed(3)}x`,
  );
  return summary;
}

describe('RMS-lite repair on the simulated network', { timeout: 60_000 }, () => {
  it('50 peers, 1% loss, B = 3N: with repair and LRS every peer plays with CLR under 1%', () => {
    const seed = 4;
    const repaired = run('repair + LRS', { seed, lrs: true });
    const plain = run('plain DBS (no repair)', {
      seed,
      lrs: false,
      peerOptions: { repair: false },
    });
    const repairOnly = run('repair, no LRS', { seed, lrs: false });
    const lrsOnly = run('LRS, no repair', { seed, lrs: true, peerOptions: { repair: false } });

    expect(repaired.peersMeasured).toBe(50);
    expect(repaired.chunkLossRatio.max).toBeLessThan(0.01);
    expect(repaired.chunksCorrupt).toBe(0);
    expect(repaired.chunksOutOfOrder).toBe(0);
    // Beside it: plain DBS loses a chunk on either lossy hop, 1 - 0.99^2 = 1.99% expected.
    expect(plain.chunkLossRatio.mean).toBeGreaterThan(0.014);
    expect(plain.chunkLossRatio.max).toBeGreaterThan(0.01);
    // Repair alone removes the relay-hop loss; what is left is the source hop (~1%). One
    // seed's CLR moves with any rule that changes the order of events, so the claim is on
    // the mean over five seeds (seed 4's runs above included).
    const seeds = [1, 2, 3, 5];
    const meanOver = (first: number, lrs: boolean, repair: boolean) =>
      seeds.reduce(
        (sum, other) =>
          sum +
          run(repair ? 'repair, no LRS' : 'plain DBS (no repair)', {
            seed: other,
            lrs,
            ...(repair ? {} : { peerOptions: { repair: false } }),
          }).chunkLossRatio.mean,
        first,
      ) /
      (seeds.length + 1);
    const plainMean = meanOver(plain.chunkLossRatio.mean, false, false);
    const repairOnlyMean = meanOver(repairOnly.chunkLossRatio.mean, false, true);
    expect(repairOnlyMean).toBeLessThan(plainMean - 0.004);
    expect(repairOnlyMean).toBeGreaterThan(0.005);
    // LRS alone: the source hop is resent, the relay hop is still lost (~1%).
    expect(lrsOnly.chunkLossRatio.max).toBeGreaterThan(0.01);
    // Repair costs a few percent of upload, not a second copy of the stream: one answer
    // per chunk lost on a relay hop (~1%), plus 10-byte requests.
    expect(repaired.peerUploadRatio).toBeLessThan(lrsOnly.peerUploadRatio * 1.05);
    expect(repaired.sourceUploadRatio).toBeLessThan(1.1);
  });

  it('holds for other seeds, and runs are still deterministic with repair', () => {
    for (const seed of [1, 2, 3]) {
      const summary = run('repair + LRS', { seed, lrs: true });
      expect(summary.peersMeasured).toBe(50);
      expect(summary.chunkLossRatio.max).toBeLessThan(0.01);
    }
    const options = { ...ISSUE_4, peers: 12, bufferSize: 36, seconds: 8, loss: 0.03, lrs: true };
    const first = runClusterScenario({ ...options, seed: 9 }).summary;
    const again = runClusterScenario({ ...options, seed: 9 }).summary;
    expect(again.traceHash).toBe(first.traceHash);
  });
});
