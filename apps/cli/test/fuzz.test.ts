import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz.mjs';

// A short sample of the fuzz run (bench/fuzz.mjs runs 10^6): 10^4 well-formed and mutated
// datagrams at 2,500 a second and a join connection every 1,000, against a live source and
// two peers on loopback, while an honest player reads the first peer.

const sum = (record: Record<string, number>) =>
  Object.values(record).reduce((total, value) => total + value, 0);

describe('fuzz: a short sample', () => {
  it('no node stops or logs an error, the drop counters grow, the player keeps receiving', {
    timeout: 60_000,
  }, async () => {
    const result = await runFuzz({ datagrams: 10_000, connectionEvery: 1000, maxSeconds: 20 });
    console.log(
      `fuzz sample: ${result.sent} datagrams in ${result.sendSeconds.toFixed(1)} s; drops: source ${JSON.stringify(result.drops.source)}, peers ${JSON.stringify(result.drops.peers)}; player ${result.honest.playerBytes} B, longest gap ${result.honest.playerMaxGapMs} ms, lost ${result.honest.chunksLost}/${result.honest.chunksLost + result.honest.chunksPlayed}`,
    );
    expect(result.sent).toBe(10_000);
    expect(result.stopped).toEqual([]);
    expect(result.logs.error).toBeUndefined();
    expect(sum(result.drops.source)).toBeGreaterThan(500);
    expect(sum(result.drops.peers)).toBeGreaterThan(1000);
    expect(result.drops.peers.malformed).toBeGreaterThan(0);
    // The honest player: bytes all along (B = 64 chunks is 2 s of stream), same membership.
    expect(result.honest.playerError).toBe('');
    expect(result.honest.playerBytes).toBeGreaterThan(100_000);
    expect(result.honest.playerMaxGapMs).toBeLessThan(5000);
    expect(result.honest.peerState).toBe('streaming');
    expect(result.honest.peerMemberIdChanged).toBe(false);
    // The source closes bad join connections itself, stalled ones at its join timeout.
    for (const kind of ['stalled', 'oversized', 'truncated', 'garbage'] as const) {
      expect(result.tcp[kind]?.closedBySource).toBe(result.tcp[kind]?.opened);
    }
  });
});
