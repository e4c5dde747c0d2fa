import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../src/cluster-scenario.js';

/**
 * The real source and peer cores, unmodified, on the simulated network (tests).
 * Statistical bounds, never wall-clock ones.
 */
describe('cluster on the simulated network (real cores)', () => {
  it('50 peers, no loss, B = 3N: every peer plays every chunk, intact and in order', () => {
    // Counted from 8 s: after the joins (1 s) and every start-up (B/2 chunks, 4.8 s), so a
    // join-phase transient of the cores (docs/simulation.md, section 2) does not count here.
    const { summary, peers } = runClusterScenario({
      peers: 50,
      bufferSize: 150,
      seconds: 20,
      seed: 3,
      measureFromMs: 8000,
    });
    expect(summary.peersMeasured).toBe(50);
    expect(summary.chunkLossRatio.max).toBe(0);
    expect(summary.chunksCorrupt).toBe(0);
    expect(summary.chunksOutOfOrder).toBe(0);
    expect(summary.clusterSize.final).toBe(50);
    // The source uploads the stream about once whatever N is (DBS, rule 2); headers add ~1.5%.
    expect(summary.sourceUploadRatio).toBeGreaterThan(0.95);
    expect(summary.sourceUploadRatio).toBeLessThan(1.1);
    // Each peer relays about what it plays: B_rate * |T| / (|T| + 1) (PROTOCOL-NOTES rule 2).
    expect(summary.peerUploadRatio).toBeGreaterThan(0.9);
    expect(summary.peerUploadRatio).toBeLessThan(1.1);
    for (const peer of peers) expect(peer.startupDelayMs).not.toBeNull();
  });

  it('50 peers, 1% path loss, B = 3N, repair off: loss stays at what two lossy hops explain', () => {
    const loss = 0.01;
    const { summary, peers } = runClusterScenario({
      peers: 50,
      bufferSize: 150,
      seconds: 30,
      loss,
      seed: 4,
      // Plain DBS: RMS-lite repair and LRS (on by default) are measured in
      // test/repair.test.ts.
      lrs: false,
      peerOptions: { repair: false },
    });
    expect(summary.peersMeasured).toBe(50);
    // Plain DBS has no retransmission: a chunk crosses the source->origin hop and the
    // origin->peer hop, so the expected CLR is 1 - (1 - p)^2 = 1.99%. The buffer itself
    // adds nothing at B = 3N. (Issue 4 asks for CLR < 1% here: that needs recovery beyond
    // DBS rules 1-5, RMS-lite repair plus LRS: test/repair.test.ts, docs/simulation.md.)
    const expected = 1 - (1 - loss) ** 2;
    expect(Math.abs(summary.chunkLossRatio.mean - expected)).toBeLessThan(0.006);
    const chunksPerPeer = Math.min(...peers.map((peer) => peer.chunksDue));
    // Every single peer within 5 binomial standard deviations of the expectation.
    const sigma = Math.sqrt((expected * (1 - expected)) / chunksPerPeer);
    expect(summary.chunkLossRatio.max).toBeLessThan(expected + 5 * sigma + 0.01);
    expect(summary.chunksCorrupt).toBe(0);
    expect(summary.chunksOutOfOrder).toBe(0);
  });

  it('same seed and parameters give the same trace hash; another seed another hash', () => {
    const options = {
      peers: 12,
      bufferSize: 36,
      seconds: 8,
      loss: 0.02,
      jitterMs: 4,
      churnPerMinute: 20,
    };
    const first = runClusterScenario({ ...options, seed: 9 }).summary;
    const again = runClusterScenario({ ...options, seed: 9 }).summary;
    const other = runClusterScenario({ ...options, seed: 10 }).summary;
    expect(again.traceHash).toBe(first.traceHash);
    expect(again).toEqual(first);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('free riders receive but never relay: the others lose exactly their chunks', () => {
    const { summary, peers } = runClusterScenario({
      peers: 20,
      bufferSize: 60,
      seconds: 20,
      freeRiders: 2,
      // Plain DBS: with LRS (the default) the monitor's complaints bring the riders'
      // chunks back (test/cluster-health.test.ts).
      lrs: false,
      seed: 5,
    });
    expect(summary.freeRiders).toHaveLength(2);
    const riders = peers.filter((peer) => peer.freeRider);
    for (const rider of riders) {
      // It still plays what the others relay to it...
      expect(rider.chunkLossRatio).not.toBeNull();
      // ...but sends no chunk to anyone: hellos (each with its ~90-byte membership
      // credential) and stats reports only, less than three chunk datagrams.
      expect(rider.bytesSent).toBeLessThan(3000);
    }
    // Without LRS and until the riders are expelled, the chunks the source gave
    // them are lost to everyone else: about 2 of every 20.
    const honest = peers.filter((peer) => !peer.freeRider);
    for (const peer of honest) expect(peer.chunkLossRatio!).toBeGreaterThan(0.03);
  });

  it('churn and crashes: leavers are replaced, survivors keep playing', () => {
    const { summary } = runClusterScenario({
      peers: 20,
      bufferSize: 60,
      seconds: 20,
      churnPerMinute: 12,
      crashFraction: 0.2,
      crashAtMs: 10_000,
      seed: 6,
    });
    expect(summary.leaves).toBeGreaterThan(0);
    expect(summary.joins).toBe(20 + summary.leaves);
    expect(summary.crashes).toBe(Math.round(0.2 * 19));
    expect(summary.honestChunkLossRatio.count).toBeGreaterThan(0);
  });

  it('peers behind full-cone NATs play like public ones', () => {
    const { summary, peers } = runClusterScenario({
      peers: 10,
      bufferSize: 30,
      seconds: 15,
      natFraction: 0.5,
      natType: 'full-cone',
      measureFromMs: 6000,
      seed: 7,
    });
    expect(peers.filter((peer) => peer.behindNat)).toHaveLength(5);
    expect(summary.peersMeasured).toBe(10);
    expect(summary.chunkLossRatio.max).toBe(0);
    expect(summary.datagramsDropped['nat-filtered']).toBe(0);
  });

  it('restricted-cone NATs filter what a member behind them never asked for', () => {
    // A joiner's hello opens its own NAT (rule 4), but a member behind a restricted NAT has
    // sent nothing to later joiners, so their first datagrams are filtered (RFC 4787
    // section 5) until it sends to them: hole punching (NTS). Without NTS the
    // loss stays; docs/simulation.md section 2 has the figures.
    const { summary, peers } = runClusterScenario({
      peers: 10,
      bufferSize: 30,
      seconds: 15,
      natFraction: 0.5,
      natType: 'restricted-cone',
      measureFromMs: 6000,
      seed: 7,
      // A source without a key: with credentials a joiner's hellos wait for its own, by
      // which time the source's introduction had the member write first, so none is filtered.
      credentials: false,
    });
    expect(summary.datagramsDropped['nat-filtered']).toBeGreaterThan(0);
    expect(peers.filter((peer) => peer.behindNat)).toHaveLength(5);
    expect(summary.chunksCorrupt).toBe(0);
  });
});
