import { describe, expect, it } from 'vitest';
import { planTree, runTreeScenario } from '../src/tree-scenario.js';

// Trees of clusters on the simulator (virtual clock, seeded): full sources redirect joiners
// to child sources fed by liberated peers of their cluster; a crashed child's listeners
// rejoin elsewhere. A short sample of experiments/tree.mjs (docs/simulation.md).

describe('tree of clusters', () => {
  it('plans depth as a logarithm of the listeners', () => {
    expect(planTree(100, 100, 10).clustersPerDepth).toEqual([1]);
    expect(planTree(1000, 100, 10).clustersPerDepth).toEqual([1, 11]);
    expect(planTree(10_000, 100, 10).clustersPerDepth).toEqual([1, 10, 92]);
    expect(planTree(100_000, 100, 10).clustersPerDepth).toHaveLength(4);
  });

  it('full sources redirect; joiners land in child clusters; loss bounded; a crashed child’s listeners rejoin', () => {
    const run = runTreeScenario({
      listeners: 60,
      clusterSize: 10,
      childrenPerCluster: 3,
      seconds: 30,
      joinWindowMs: 2000,
      loss: 0.01,
      crash: { atMs: 20_000, depth: 2 },
      listenerSourceTimeoutMs: 3000,
    });
    expect(run.plan.clustersPerDepth).toEqual([1, 3, 4]);
    expect(run.neverPlayed).toBe(0);
    // No cluster over C: the root is full and everybody else was redirected, once or twice.
    expect(run.rootMembers).toBe(10);
    expect(run.largestCluster).toBeLessThanOrEqual(10);
    expect(run.redirects.max).toBe(2);
    for (const depth of run.perDepth) expect(depth.listeners).toBeGreaterThan(0);
    // Delay adds up with depth: one more cluster's chunking and play-out per level.
    expect(run.perDepth[2]!.delayMs.p50).toBeGreaterThan(run.perDepth[1]!.delayMs.p50);
    expect(run.perDepth[1]!.delayMs.p50).toBeGreaterThan(run.perDepth[0]!.delayMs.p50);
    // 1% loss on every path, three hops of clusters: loss stays around the repair's residue.
    expect(run.lossRatio.mean).toBeLessThan(0.01);
    expect(run.lossRatio.max).toBeLessThan(0.05);
    expect(run.rootUploadRatioMeasured).toBeLessThan(1.1);
    const crash = run.crash!;
    expect(crash.listeners).toBeGreaterThan(0);
    expect(crash.rejoined).toBe(crash.listeners);
    // Silence timeout (3 s) + the rejoin's backoff, redirects and play-out delay.
    expect(crash.gapMs.max).toBeLessThan(6000);
  });

  it('the listeners of a child source that stops rejoin at once, not after a silence', () => {
    const run = runTreeScenario({
      listeners: 40,
      clusterSize: 10,
      childrenPerCluster: 3,
      seconds: 24,
      joinWindowMs: 2000,
      loss: 0,
      crash: { atMs: 18_000, depth: -1, leave: true },
    });
    const crash = run.crash!;
    expect(crash.listeners).toBeGreaterThan(0);
    expect(crash.rejoined).toBe(crash.listeners);
    // The goodbye's drain, a rejoin's backoff, redirects, a play-out delay: far below the
    // 15 s of silence a crash takes to notice with the default timeout.
    expect(crash.gapMs.max).toBeLessThan(6000);
  });
});
