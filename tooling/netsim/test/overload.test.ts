import { describe, expect, it } from 'vitest';
import { type ClusterScenarioOptions, runClusterScenario } from '../src/cluster-scenario.js';

/**
 * Graceful overload on the simulated network (virtual clock, real cores): a quarter of
 * the peers have a third of the upload a member needs, at 2 Mbit/s, with ACS. Rule 7's
 * debt threshold, rule 8's complaint threshold and rule 6's silence, set in stream time
 * (2,048 ms, 2,048 ms and at least 4 s), must not read their lag, nor the joins, as free
 * riding or as vanishing; P2PSP's fixed 32 chunks (131 ms) did, and the drops turned into
 * expulsions of honest peers.
 * docs/simulation.md, "Graceful overload", quotes the figures and what is left.
 */

const BITRATE = 2_000_000;
/** A third of what a member uploads: the stream plus chunk and IP/UDP headers (1,068 / 1,024). */
const slowUploadKbps = (bitrate: number) => Math.round((bitrate * (1068 / 1024)) / 1000 / 3);
const SLOW_UPLOAD_KBPS = slowUploadKbps(BITRATE);

function overloaded(options: Partial<ClusterScenarioOptions> = {}) {
  const drops = { debt: 0, silent: 0 };
  const run = runClusterScenario({
    peers: 20,
    // A 1 s buffer (524 ms of play-out delay): 64 chunks are 262 ms at 2 Mbit/s, less than a
    // slow peer needs to send one chunk to 19 neighbours (3 x 19 chunk times).
    bufferSize: 256,
    seconds: 20,
    bitrate: BITRATE,
    latencyMs: 20,
    jitterMs: 5,
    slowPeers: 5,
    slowUploadKbps: SLOW_UPLOAD_KBPS,
    acs: true,
    seed: 1,
    measureFromMs: 10_000,
    onTrace: (record) => {
      if (record.type !== 'core-event' || record.name !== 'neighbour-drop') return;
      if (record.reason === 'debt') drops.debt++;
      if (record.reason === 'silent') drops.silent++;
    },
    ...options,
  });
  const fast = run.peers.filter((peer) => !peer.slow);
  const fastLoss = fast.reduce((sum, peer) => sum + peer.chunksLost, 0);
  const fastDue = fast.reduce((sum, peer) => sum + peer.chunksDue, 0);
  const slow = new Set(run.summary.health.slowPeers);
  return {
    summary: run.summary,
    drops,
    fastExpelled: run.summary.health.honestExpelled.filter((name) => !slow.has(name)),
    fastClr: fastLoss / Math.max(1, fastDue),
  };
}

describe('graceful overload (simulator, real cores)', () => {
  it('a third of the upload at 2 Mbit/s: no neighbour dropped, no honest expulsion, loss <= 1%', () => {
    const after = overloaded();
    const before = overloaded({
      peerOptions: { debtThreshold: 32 },
      sourceOptions: { cluster: { complaints: { threshold: 32 } } },
    });
    for (const [name, run] of [
      ['debt and complaint thresholds 32 chunks', before],
      ['debt and complaint thresholds 2,048 ms', after],
    ] as const) {
      const health = run.summary.health;
      console.log(
        `${name}: honest expelled ${health.honestExpelled.length} (slow ones ${health.honestExpelled.length - run.fastExpelled.length}), neighbour drops ${run.drops.debt} debt ${run.drops.silent} silent, CLR ${(run.summary.chunkLossRatio.mean * 100).toFixed(2)}%, peers with enough upload ${(run.fastClr * 100).toFixed(2)}%, members ${run.summary.clusterSize.final}`,
      );
    }
    // The fixed count drops honest neighbours while they join and lag; expulsions follow.
    expect(before.drops.debt).toBeGreaterThan(10);
    expect(before.fastExpelled.length).toBeGreaterThan(10);
    expect(after.drops).toEqual({ debt: 0, silent: 0 });
    expect(after.summary.health.honestExpelled).toEqual([]);
    expect(after.summary.health.silentDrops).toEqual([]);
    expect(after.summary.clusterSize.final).toBe(20);
    // From 10 s (ACS has settled): every peer, slow or not, loses <= 1%.
    expect(after.summary.chunkLossRatio.max).toBeLessThanOrEqual(0.01);
  });

  it('a third of the upload at 128 kbit/s: control goes before the relays queued, so the source hears the slow peers', () => {
    // Their relays fill a 64 KiB upload queue, 11.6 s at 45 kbit/s: stats reports queued
    // behind them reached the source after its member timeout (6 s here), which removed
    // every slow peer as silent. ACS then lowers their share, as at 2 Mbit/s.
    const run = overloaded({
      bitrate: 128_000,
      bufferSize: 64,
      slowUploadKbps: slowUploadKbps(128_000),
      seconds: 30,
    });
    const health = run.summary.health;
    console.log(
      `128 kbit/s: removed as silent ${health.silentDrops.length}, honest expelled ${health.honestExpelled.length}, CLR ${(run.summary.chunkLossRatio.mean * 100).toFixed(2)}% (max ${(run.summary.chunkLossRatio.max * 100).toFixed(2)}%), members ${run.summary.clusterSize.final}`,
    );
    expect(health.silentDrops).toEqual([]);
    expect(health.honestExpelled).toEqual([]);
    expect(run.summary.clusterSize.final).toBe(20);
    expect(run.summary.chunkLossRatio.max).toBeLessThanOrEqual(0.01);
  });
});
