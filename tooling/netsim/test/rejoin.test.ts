import { type PeerEvent, RejoiningPeerCore } from '@p2psp/peer';
import { SourceCore } from '@p2psp/source';
import { createRandom, type Endpoint } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { addRecordedNode, type CoreRecorder } from '../src/core-recorder.js';
import { Simulator } from '../src/simulator.js';
import { StreamGenerator } from '../src/stream-generator.js';

// Memberships that heal, on the simulator with the real cores (virtual time, seeded): the
// source crashes and a new one starts on its address, or the source removes a member it
// stopped hearing; the RejoiningPeerCores join again by themselves.

const SOURCE: Endpoint = { address: '10.0.0.1', port: 4552 };
/** 128 kbit/s in 512-byte pieces: a 1,024-byte chunk every 64 ms. */
const BITRATE = 128_000;
const PIECE_BYTES = 512;
const PEERS = 4;

function startSource(sim: Simulator, seed: number, from: number, until: number) {
  const core = new SourceCore({
    random: createRandom(seed),
    chunkSize: 1024,
    bufferSize: 32,
    mediaType: 'audio/mpeg',
    cluster: { livenessTimeoutMillis: 6000 },
  });
  const { node, record } = addRecordedNode(sim, {
    name: `source-${seed}`,
    endpoint: SOURCE,
    core,
    tcpListenPort: SOURCE.port,
    link: { latencyMs: 1 },
  });
  new StreamGenerator(sim, node, {
    bitrate: BITRATE,
    pieceBytes: PIECE_BYTES,
    startAt: from,
    stopAt: until,
  });
  return { node, record, core };
}

function startPeers(sim: Simulator) {
  return Array.from({ length: PEERS }, (_, index) => {
    const core = new RejoiningPeerCore({ source: SOURCE, random: createRandom(100 + index) });
    const { node, record } = addRecordedNode(sim, {
      name: `peer-${index}`,
      endpoint: { address: `10.0.1.${index + 1}`, port: 5000 },
      core,
      link: { latencyMs: 1 },
    });
    return { core, node, record };
  });
}

function named<Name extends PeerEvent['name']>(record: CoreRecorder, name: Name) {
  return record.events.filter((event) => event.name === name) as unknown as (Extract<
    PeerEvent,
    { name: Name }
  > & { at: number })[];
}

/** Chunks played with a payload after virtual time `time`. */
const playedAfter = (record: CoreRecorder, time: number) =>
  record.plays.filter((play) => play.at > time && play.payload !== null).length;

describe('rejoining peers on the simulator (real cores)', () => {
  it('the source crashes and restarts on its address: every peer joins again and plays', () => {
    const sim = new Simulator({ seed: 7, crashMode: 'process' });
    const first = startSource(sim, 1, -32, 60_000);
    const peers = startPeers(sim);
    sim.runUntil(5000);
    for (const peer of peers) expect(playedAfter(peer.record, 3000)).toBeGreaterThan(20);
    const oldIds = peers.map((peer) => peer.core.memberId);

    sim.crash(first.node);
    sim.runUntil(8000);
    const restartAt = sim.now;
    const second = startSource(sim, 2, restartAt - 32, 60_000);
    sim.runUntil(20_000);

    for (const peer of peers) {
      expect(peer.record.stopped).toBeNull();
      expect(peer.core.state).toBe('streaming');
      // Told by the new source (its answer to their next report), not 15 s of silence.
      expect(named(peer.record, 'rejoin-wait')[0]?.fields.code).toBe('P2PSP_ERR_REMOVED');
      expect(named(peer.record, 'rejoin-done')).toHaveLength(1);
      expect(peer.core.rejoin().rejoins).toBe(1);
      expect(playedAfter(peer.record, restartAt + 4000)).toBeGreaterThan(100);
      // One stream header per membership.
      expect(peer.record.headers).toHaveLength(2);
    }
    // The new source's ids: its members are the four peers, joined once each.
    expect(second.core.stats().members).toBe(PEERS);
    expect(second.core.stats().strangersTold).toBeGreaterThanOrEqual(PEERS);
    const newIds = peers.map((peer) => peer.core.memberId);
    expect(new Set(newIds).size).toBe(PEERS);
    // The first play of each peer after the restart, in virtual time: the gap.
    const gaps = peers.map(
      (peer) =>
        peer.record.plays.find((play) => play.at > restartAt && play.payload)!.at - restartAt,
    );
    for (const gap of gaps) expect(gap).toBeLessThan(4000);
    console.log(
      `source restart on the simulator: first play at each peer ${gaps.join(', ')} ms (virtual) after the new source started`,
    );
    expect(oldIds.every((id) => id > 0)).toBe(true);
  });

  it('a member the source stopped hearing is told, joins again under a new id, and plays', () => {
    const sim = new Simulator({ seed: 8 });
    const source = startSource(sim, 1, -32, 60_000);
    const peers = startPeers(sim);
    sim.runUntil(4000);
    const deaf = peers[1]!;
    const oldId = deaf.core.memberId;
    // 8 s in which nothing of the peer reaches the source (a broken uplink), past the
    // source's 6 s member timeout, less than the peer's 15 s of source silence.
    const cut = (blocked: boolean) => {
      sim.setPath(deaf.node, source.node, { loss: blocked ? 1 : 0 });
    };
    cut(true);
    sim.runUntil(12_000);
    cut(false);
    sim.runUntil(20_000);
    const leave = source.record.events.find(
      (event) => event.name === 'peer-leave' && event.fields.memberId === oldId,
    );
    expect(leave?.fields).toMatchObject({ reason: 'timeout' });
    expect(named(deaf.record, 'peer-expel')[0]?.fields.reason).toBe('timeout');
    expect(named(deaf.record, 'rejoin-wait')[0]?.fields.code).toBe('P2PSP_ERR_REMOVED');
    expect(deaf.core.memberId).not.toBe(oldId);
    expect(deaf.core.state).toBe('streaming');
    expect(playedAfter(deaf.record, 14_000)).toBeGreaterThan(50);
    expect(deaf.record.stopped).toBeNull();
  });
});
