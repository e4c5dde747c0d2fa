import { type PeerConfig, PeerCore } from '@p2psp/peer';
import { type SourceConfig, SourceCore } from '@p2psp/source';
import { createRandom, decodeDatagram, type Endpoint, type SansIoCore } from '@p2psp/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addRecordedNode, type CoreRecorder } from '../src/core-recorder.js';
import { type SimulatedNode, Simulator } from '../src/simulator.js';
import { fillStreamBytes } from '../src/stream-content.js';
import { StreamGenerator } from '../src/stream-generator.js';

const SOURCE: Endpoint = { address: '10.0.0.1', port: 4552 };
const CHUNK_SIZE = 1024;
/** 16 KB/s (128 kbit/s): 512 bytes every 32 ms, a chunk every 64 ms. */
const BITRATE = 128_000;
const PIECE_BYTES = 512;
const PIECE_PERIOD = 32;

function peerEndpoint(index: number): Endpoint {
  return { address: `10.0.1.${index + 1}`, port: 5000 + index };
}

/**
 * Loses the first source datagram from chunk 60 on that goes to a non-monitor (peer 0 at
 * 10.0.1.1, the first joiner, is the monitor: monitors are trusted, never charged); records
 * which chunk it was and whom it was for.
 */
function loseOneSourceChunk() {
  const lost = {
    chunkNumber: null as number | null,
    to: null as Endpoint | null,
    lose: (to: Endpoint, bytes: Uint8Array): boolean => {
      if (lost.chunkNumber !== null || to.address === '10.0.1.1') return false;
      const decoded = decodeDatagram(bytes);
      if (decoded.ok && decoded.message.type === 'chunk' && decoded.message.chunkNumber >= 60) {
        lost.chunkNumber = decoded.message.chunkNumber;
        lost.to = to;
        return true;
      }
      return false;
    },
  };
  return lost;
}

interface ClusterOptions {
  readonly peers: number;
  /** Seconds of 128 kbit/s stream, ingested from t = 0. */
  readonly seconds: number;
  readonly bufferSize?: number;
  /** When each peer joins (virtual ms). Default: 20 ms apart from t = 0. */
  readonly joinAt?: (index: number) => number;
  readonly peerConfig?: (index: number) => Partial<PeerConfig>;
  readonly source?: Partial<SourceConfig>;
  /** One-way latency of every datagram and TCP segment. Default 1 ms. */
  readonly latencyMillis?: number;
  /** Extra delay of each datagram, uniform in [0, jitter). Default 0. */
  readonly jitterMillis?: number;
  /** Random loss of every datagram (TCP is reliable). Default 0. */
  readonly loss?: number;
  /** Datagrams of the source to lose (the network's doing, not the source's). */
  readonly loseFromSource?: (to: Endpoint, bytes: Uint8Array) => boolean;
  readonly seed?: number;
}

/** A node of the cluster: its host on the simulator and the record of what its core put out. */
interface Member {
  readonly host: SimulatedNode;
  readonly record: CoreRecorder;
}

/** A source and N peers on the simulator, the ingest scheduled from t = 0. */
function createCluster(options: ClusterOptions) {
  // A crash is a vanished host: silence, its TCP connections are not reset.
  const sim = new Simulator({ seed: options.seed ?? 1, crashMode: 'host' });
  // The path's latency and loss split over its two access links; jitter on the way out.
  const latencyMs = (options.latencyMillis ?? 1) / 2;
  const loss = 1 - Math.sqrt(1 - (options.loss ?? 0));
  const link = {
    uplink: { latencyMs, loss, jitterMs: options.jitterMillis ?? 0 },
    downlink: { latencyMs, loss },
  };
  const addMember = (
    name: string,
    endpoint: Endpoint,
    core: SansIoCore,
    listens = false,
  ): Member => {
    const { node, record } = addRecordedNode(sim, {
      name,
      endpoint,
      core,
      tcpListenPort: listens ? endpoint.port : null,
      ...link,
      dropOutgoing: name === 'source' ? (options.loseFromSource ?? null) : null,
    });
    return { host: node, record };
  };
  const sourceCore = new SourceCore({
    random: createRandom(1),
    chunkSize: CHUNK_SIZE,
    bufferSize: options.bufferSize ?? 32,
    mediaType: 'audio/mpeg',
    ...options.source,
  });
  const source = addMember('source', SOURCE, sourceCore, true);
  // Whole pieces from t = 0 (the stream started one piece earlier), the ingest ending when
  // the piece after the last was due.
  const pieces = Math.floor(((BITRATE / 8) * options.seconds) / PIECE_BYTES);
  new StreamGenerator(sim, source.host, {
    bitrate: BITRATE,
    pieceBytes: PIECE_BYTES,
    startAt: -PIECE_PERIOD,
    stopAt: (pieces - 1) * PIECE_PERIOD,
    end: true,
  });
  const ingestEnd = pieces * PIECE_PERIOD;
  const stream = new Uint8Array(pieces * PIECE_BYTES);
  fillStreamBytes(stream, 0);
  const peers: (Member & { core: PeerCore })[] = [];
  const joinAt = options.joinAt ?? ((index: number) => index * 20);
  const order = Array.from({ length: options.peers }, (_, index) => index).sort(
    (a, b) => joinAt(a) - joinAt(b),
  );
  for (const index of order) {
    sim.runUntil(joinAt(index));
    const core = new PeerCore({
      source: SOURCE,
      random: createRandom(100 + index),
      ...options.peerConfig?.(index),
    });
    peers[index] = { ...addMember(`peer-${index}`, peerEndpoint(index), core), core };
  }
  return { sim, source, sourceCore, stream, peers, ingestEnd };
}

/** Four peers, B = 32, LRS on, one source chunk lost as `loseOneSourceChunk` says; 15 s run. */
function runLrsCluster(peerConfig?: ClusterOptions['peerConfig']) {
  const cluster = createCluster({
    peers: 4,
    bufferSize: 32,
    seconds: 10,
    source: { cluster: { lostChunkRecovery: true } },
    ...(peerConfig ? { peerConfig } : {}),
    loseFromSource: loseOneSourceChunk().lose,
  });
  cluster.sim.runUntil(15_000);
  return cluster;
}

/** The bytes a peer played, from its first delivered chunk on, and where that is. */
function played(record: CoreRecorder) {
  const first = record.plays.findIndex((play) => play.payload !== null);
  const plays = record.plays.slice(first);
  const bytes = Buffer.concat(plays.map((play) => play.payload ?? new Uint8Array(0)));
  return { firstChunk: plays[0]?.chunkNumber ?? -1, bytes, plays };
}

function chunksSentBy(record: CoreRecorder) {
  return record.sent.flatMap(({ at, to, bytes }) => {
    const decoded = decodeDatagram(bytes);
    return decoded.ok && decoded.message.type === 'chunk'
      ? [
          {
            at,
            to,
            chunkNumber: decoded.message.chunkNumber,
            origin: decoded.message.origin,
            recovered: decoded.message.flags.recovered,
          },
        ]
      : [];
  });
}

describe('a source and peers on the simulator (DBS rules 1-6)', () => {
  it('joins everyone, feeds them round robin, and every peer plays the ingested bytes', () => {
    const peerCount = 5;
    const { sim, source, sourceCore, stream, peers, ingestEnd } = createCluster({
      peers: peerCount,
      seconds: 20, // 20 s
    });
    sim.runUntil(2_000);
    // Join flow (rule 4): everyone in the round robin, and everyone knows everyone.
    expect(sourceCore.stats().members).toBe(peerCount);
    expect(sourceCore.members().map((member) => member.memberId)).toEqual([1, 2, 3, 4, 5]);
    expect(sourceCore.stats().monitors).toBe(1); // the first joiner (rule 8 default)
    for (const { core, record } of peers) {
      expect(core.state).toBe('streaming');
      expect(core.stats().neighbours).toBe(peerCount - 1);
      expect(record.headers).toEqual([{ mediaType: 'audio/mpeg', header: new Uint8Array(0) }]);
    }

    sim.runUntil(ingestEnd + 3_000);
    const stats = sourceCore.stats();
    expect(stats.bytesIngested).toBe(stream.length);
    expect(source.record.stopped?.reason).toBe('stream-end');

    // Rule 1: after the last join, chunk n goes to member (n mod N) of the round: every
    // window of N consecutive chunks reaches N different members, in the same order.
    const sentChunks = chunksSentBy(source.record);
    const settled = sentChunks.filter(({ at }) => at > 500);
    const firstRound = settled.slice(0, peerCount).map(({ origin }) => origin);
    expect(new Set(firstRound).size).toBe(peerCount);
    expect(settled.map(({ origin }) => origin)).toEqual(
      settled.map((_, index) => firstRound[index % peerCount]),
    );
    // ...and the source remembers where the last B went.
    const last = sentChunks.at(-1)!;
    expect(sourceCore.destinationOf(last.chunkNumber)).toBe(last.origin);

    // Replication factor 1 (rule 2): the source uploads each chunk once. Its upload over
    // the chunk payload it sent is 1 + header overhead (+ hello-acks and goodbyes).
    expect(stats.chunksSent + stats.chunksDropped).toBe(stats.chunksCut);
    expect(stats.chunksSent).toBe(sentChunks.length);
    const ratio = source.record.uploadBytes / stats.chunkBytesSent;
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.02);

    for (const { core, record } of peers) {
      // Played bytes equal the ingested bytes from the first delivered chunk on, no loss.
      const { firstChunk, bytes, plays } = played(record);
      expect(plays.every((play) => play.payload !== null)).toBe(true);
      const offset = firstChunk * CHUNK_SIZE;
      expect(bytes.length).toBe(stream.length - offset);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(offset)))).toBe(0);
      expect(record.stopped?.reason).toBe('stream-end');
      const peerStats = core.stats();
      expect(peerStats.chunksLost).toBe(0);
      // Rule 2: each chunk from the source went to the N - 1 others, and peers' chunks
      // were not relayed again.
      expect(peerStats.chunksRelayed).toBeGreaterThanOrEqual(
        (peerStats.chunksFromSource - 2) * (peerCount - 1),
      );
      expect(peerStats.chunksRelayed).toBeLessThanOrEqual(
        peerStats.chunksFromSource * (peerCount - 1),
      );
    }
    // Every peer received every chunk sent after it joined from the source or a relay.
    const lastPeer = peers[peerCount - 1]!;
    const lastPlays = played(lastPeer.record);
    expect(lastPlays.firstChunk).toBeLessThanOrEqual(2);
  });

  it('paces relays across the time to the next source chunk (rule 3)', () => {
    const peerCount = 5;
    const { sim, peers } = createCluster({ peers: peerCount, seconds: 6 });
    sim.runUntil(5_000);
    const byChunk = new Map<number, number[]>();
    for (const relay of chunksSentBy(peers[2]!.record)) {
      byChunk.set(relay.chunkNumber, [...(byChunk.get(relay.chunkNumber) ?? []), relay.at]);
    }
    for (const [chunkNumber, times] of byChunk) {
      if (times[0]! < 1_000 || times[0]! > 4_000) byChunk.delete(chunkNumber);
    }
    expect(byChunk.size).toBeGreaterThan(5);
    // Each source chunk: 4 relays, ~80 ms apart (5 chunks of 64 ms between source chunks to
    // this peer, over 4 neighbours), not 4 at once.
    for (const times of byChunk.values()) {
      expect(times).toHaveLength(peerCount - 1);
      const gaps = times.slice(1).map((time, index) => time - times[index]!);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThan(50);
        expect(gap).toBeLessThan(110);
      }
    }
    expect(peers[2]!.core.stats().chunksBurst).toBe(0);
  });

  it('plays a chunk lost by everyone as null, counts it, and keeps going (rule 5); monitors complain', () => {
    const lost = loseOneSourceChunk();
    const { sim, sourceCore, peers, stream } = createCluster({
      peers: 4,
      seconds: 10,
      // Plain DBS at the source: LRS (on by default) would resend it (tested below).
      source: { cluster: { lostChunkRecovery: false } },
      // The first source datagram from chunk 60 on that goes to a non-monitor (peer 0, the
      // first joiner, is the monitor: monitors are trusted, never charged) never arrives.
      loseFromSource: lost.lose,
    });
    sim.runUntil(15_000);
    expect(lost.chunkNumber).not.toBeNull();
    for (const { core, record } of peers) {
      expect(core.stats().chunksLost).toBe(1);
      const nulls = record.plays.filter((play) => play.payload === null);
      expect(nulls.map((play) => play.chunkNumber)).toEqual([lost.chunkNumber]);
      expect(record.events.some((event) => event.name === 'chunk-lost')).toBe(true);
      // The rest is intact and in order.
      const { firstChunk, plays } = played(record);
      plays.forEach((play, index) => {
        expect(play.chunkNumber).toBe(firstChunk + index);
        if (play.payload !== null) {
          const offset = play.chunkNumber * CHUNK_SIZE;
          expect(
            Buffer.from(play.payload).equals(stream.subarray(offset, offset + play.payload.length)),
          ).toBe(true);
        }
      });
    }
    // Rule 8: the monitor (peer 0, the first joiner) told the source, which charged the
    // member it had sent the chunk to.
    expect(peers.map(({ core }) => core.monitor)).toEqual([true, false, false, false]);
    expect(sourceCore.stats().complaintsReceived).toBe(1);
    const charged = sourceCore.members().filter((member) => member.complaints > 0);
    expect(charged.map((member) => member.endpoint)).toEqual([lost.to]);
  });

  it('with repairFromSource, the chunk the source hop lost is asked of the source by its destination: nobody loses it', () => {
    const lost = loseOneSourceChunk();
    const { sim, sourceCore, peers } = createCluster({
      peers: 4,
      seconds: 10,
      // Plain DBS at the source: only the destination's request brings the chunk back.
      source: { cluster: { lostChunkRecovery: false } },
      loseFromSource: lost.lose,
      peerConfig: () => ({ repairFromSource: true }),
    });
    sim.runUntil(15_000);
    expect(lost.chunkNumber).not.toBeNull();
    for (const { core } of peers) expect(core.stats().chunksLost).toBe(0);
    // Sent back once, to the member it was sent to, which relayed it to the others.
    expect(sourceCore.stats().chunksRecovered).toBe(1);
    expect(sourceCore.stats().complaintsReceived).toBe(0);
  });

  it('drops a member that says goodbye, at the source and at every peer (rule 6)', () => {
    const { sim, sourceCore, peers } = createCluster({ peers: 4, seconds: 10 });
    sim.runUntil(3_000);
    const leaving = peers[1]!;
    sim.schedule(3_000, () => sim.stop(leaving.host));
    sim.runUntil(3_100);
    expect(leaving.record.stopped?.reason).toBe('stop');
    expect(sourceCore.stats().members).toBe(3);
    expect(sourceCore.members().map((member) => member.memberId)).not.toContain(
      leaving.core.memberId,
    );
    for (const other of [peers[0]!, peers[2]!, peers[3]!]) {
      expect(other.core.stats().neighbours).toBe(2);
      expect(other.record.events.some((event) => event.name === 'peer-leave')).toBe(true);
    }
    const lostBefore = peers.map(({ core }) => core.stats().chunksLost);
    sim.runUntil(15_000);
    for (const index of [0, 2, 3]) {
      const { core, record } = peers[index]!;
      // At most the chunk the source sent to the leaver while its goodbye was in flight.
      expect(core.stats().chunksLost - lostBefore[index]!).toBeLessThanOrEqual(1);
      expect(record.stopped?.reason).toBe('stream-end');
    }
  });

  it('drops and counts garbage and foreign datagrams, and keeps streaming', () => {
    const { sim, source, sourceCore, peers, stream } = createCluster({
      peers: 3,
      seconds: 8,
    });
    sim.runUntil(1_000);
    const stranger: Endpoint = { address: '192.0.2.66', port: 6666 };
    const random = createRandom(7);
    const targets = [source.host, ...peers.map(({ host }) => host)];
    for (let index = 0; index < 300; index++) {
      const length = Math.floor(random.next() * 64);
      const bytes = Uint8Array.from({ length }, () => Math.floor(random.next() * 256));
      // Half of them start with a valid version and type byte, to get past the first check.
      if (index % 2 === 0 && length >= 2) {
        bytes[0] = 1;
        bytes[1] = 0x10 + (index % 9);
      }
      const target = targets[index % targets.length]!;
      sim.schedule(1_000 + index * 10, () =>
        sim.deliver(target, { type: 'datagram', from: stranger, bytes }),
      );
    }
    sim.runUntil(12_000);
    const sourceDrops = sourceCore.stats().datagramsDropped;
    expect(sourceDrops.malformed + sourceDrops['non-member']).toBeGreaterThan(50);
    for (const { core, record } of peers) {
      const drops = core.stats().datagramsDropped;
      expect(drops.malformed).toBeGreaterThan(10);
      expect(core.stats().chunksLost).toBe(0);
      const { firstChunk, bytes } = played(record);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(firstChunk * CHUNK_SIZE)))).toBe(0);
      // Reported once per reason, not once per datagram.
      const dropEvents = record.events.filter((event) => event.name === 'datagram-drop');
      expect(dropEvents.length).toBeLessThanOrEqual(7);
    }
  });

  it('brings a peer that joins mid-stream to byte-exact play-out from its first chunk', () => {
    const peerCount = 10;
    const { sim, peers, stream, sourceCore } = createCluster({
      peers: peerCount,
      bufferSize: 64,
      seconds: 20,
      // Nine at the start, the last one 8 s into the stream.
      joinAt: (index) => (index === peerCount - 1 ? 8_000 : index * 20),
    });
    sim.runUntil(8_000 + 2_000);
    expect(sourceCore.stats().members).toBe(peerCount);
    const late = peers[peerCount - 1]!;
    expect(late.record.headers).toHaveLength(1);
    expect(late.core.stats().neighbours).toBe(peerCount - 1);
    sim.runUntil(30_000);
    for (const { core, record } of peers) {
      const { firstChunk, bytes, plays } = played(record);
      expect(plays.every((play) => play.payload !== null)).toBe(true);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(firstChunk * CHUNK_SIZE)))).toBe(0);
      expect(core.stats().chunksLost).toBe(0);
    }
    // The late joiner starts near where the stream was when it joined (125 chunks in),
    // a little before: relays of the last round's chunks were still under way.
    const lateStart = played(late.record).firstChunk;
    expect(lateStart).toBeGreaterThan(110);
    expect(lateStart).toBeLessThan(135);
    // Join time: from connect to its first chunk played, under 1 s of virtual time here
    // (half the buffer of 64-ms chunks).
    const firstPlay = late.record.plays.find((play) => play.payload !== null)!;
    expect(firstPlay.at - 8_000).toBeLessThan(3_000);
  });

  it('recovers a chunk every monitor lost through a monitor (LRS)', () => {
    const { sourceCore, peers } = runLrsCluster();
    expect(sourceCore.stats().chunksRecovered).toBe(1);
    // With RMS-lite repair (default) the monitor complains as soon as its repair fails,
    // before its own play time (3B/8), so the resend reaches it too, and the others (B/2).
    expect(peers[0]!.core.monitor).toBe(true);
    for (const { core } of peers) expect(core.stats().chunksLost).toBe(0);
    expect(sourceCore.stats().complaintsReceived).toBe(1);
  });

  it('LRS without repair: the monitor (B/4 delay) loses the chunk, the others get the resend', () => {
    const { sourceCore, peers } = runLrsCluster(() => ({ repair: false }));
    expect(sourceCore.stats().chunksRecovered).toBe(1);
    expect(peers[0]!.core.monitor).toBe(true);
    expect(peers[0]!.core.stats().chunksLost).toBe(1);
    for (const { core } of peers.slice(1)) expect(core.stats().chunksLost).toBe(0);
  });

  it('drops a member that vanished without goodbye at the source and the peers (liveness)', () => {
    const { sim, sourceCore, peers } = createCluster({
      peers: 5,
      seconds: 20,
      source: { cluster: { livenessTimeoutMillis: 5_000 } },
    });
    sim.runUntil(3_000);
    const crashed = peers[2]!;
    sim.crash(crashed.host);
    sim.runUntil(9_000);
    expect(sourceCore.stats().members).toBe(4);
    expect(sourceCore.members().map((member) => member.memberId)).not.toContain(
      crashed.core.memberId,
    );
    for (const index of [0, 1, 3, 4]) {
      const { core } = peers[index]!;
      expect(core.neighbours().map((neighbour) => neighbour.memberId)).not.toContain(
        crashed.core.memberId,
      );
    }
    // After the removal nothing more is lost.
    const lostAfterRemoval = peers.map(({ core }) => core.stats().chunksLost);
    sim.runUntil(25_000);
    for (const index of [0, 1, 3, 4]) {
      expect(peers[index]!.core.stats().chunksLost).toBe(lostAfterRemoval[index]);
      expect(peers[index]!.record.stopped?.reason).toBe('stream-end');
    }
  });

  it('stops the peers when the source vanishes without goodbye (source silence)', () => {
    const { sim, source, peers } = createCluster({
      peers: 3,
      seconds: 60,
      peerConfig: () => ({ sourceTimeoutMillis: 10_000 }),
    });
    sim.runUntil(3_000);
    sim.crash(source.host);
    sim.runUntil(12_000);
    for (const { core } of peers) expect(core.state).toBe('streaming');
    sim.runUntil(14_000);
    for (const { core, record } of peers) {
      expect(record.stopped?.reason).toMatch(/^P2PSP_ERR_SOURCE_SILENT/);
      // What was buffered was played before stopping: nothing lost.
      expect(core.stats().chunksLost).toBe(0);
    }
  });

  it('joins peers that arrive at the same instant, with 5 ms links, without holes', () => {
    const peerCount = 8;
    const { sim, peers, stream, sourceCore } = createCluster({
      peers: peerCount,
      bufferSize: 64,
      latencyMillis: 5,
      seconds: 15,
      // The stream is 3 s in when all eight connect at once.
      joinAt: () => 3_000,
    });
    sim.runUntil(25_000);
    expect(sourceCore.members()).toHaveLength(peerCount);
    for (const { core, record } of peers) {
      // Everyone learnt everyone, although their accepts listed nobody.
      expect(record.events.filter((event) => event.name === 'neighbour-add')).toHaveLength(
        peerCount - 1,
      );
      const { firstChunk, bytes, plays } = played(record);
      expect(plays.every((play) => play.payload !== null)).toBe(true);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(firstChunk * CHUNK_SIZE)))).toBe(0);
      expect(core.stats().chunksLost).toBe(0);
    }
  });
});

describe('invariants under random loss, latency and jitter (property)', () => {
  it('never plays out of order or corrupt bytes, and the source uploads each chunk once', () => {
    fc.assert(
      fc.property(
        fc.record({
          peers: fc.integer({ min: 2, max: 6 }),
          lossPercent: fc.integer({ min: 0, max: 5 }),
          latencyMillis: fc.integer({ min: 1, max: 20 }),
          jitterMillis: fc.integer({ min: 0, max: 15 }),
          joinSpread: fc.integer({ min: 0, max: 2_000 }),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
        }),
        ({ peers: peerCount, lossPercent, latencyMillis, jitterMillis, joinSpread, seed }) => {
          const { sim, source, sourceCore, stream, peers } = createCluster({
            peers: peerCount,
            bufferSize: 32,
            seconds: 8,
            latencyMillis,
            jitterMillis,
            seed,
            loss: lossPercent / 100,
            joinAt: (index) => (index * joinSpread) / peerCount,
          });
          sim.runUntil(15_000);
          // The source: every chunk cut once, to one member, never twice (rule 1); LRS (on by
          // default) may resend one every monitor lost, flagged recovered.
          const sentNumbers = chunksSentBy(source.record)
            .filter(({ recovered }) => !recovered)
            .map(({ chunkNumber }) => chunkNumber);
          expect(new Set(sentNumbers).size).toBe(sentNumbers.length);
          const stats = sourceCore.stats();
          expect(stats.chunksSent + stats.chunksDropped).toBe(stats.chunksCut);
          for (const { core, record } of peers) {
            // In order, one chunk number after the other, each payload the stream's bytes.
            for (let index = 1; index < record.plays.length; index++) {
              expect(record.plays[index]!.chunkNumber).toBe(
                record.plays[index - 1]!.chunkNumber + 1,
              );
            }
            for (const play of record.plays) {
              if (play.payload === null) continue;
              const offset = play.chunkNumber * CHUNK_SIZE;
              const expected = stream.subarray(offset, offset + play.payload.length);
              expect(Buffer.from(play.payload).equals(expected)).toBe(true);
            }
            const peerStats = core.stats();
            expect(peerStats.chunksPlayed + peerStats.chunksLost).toBe(record.plays.length);
            // Every peer reaches the end of the stream.
            expect(record.stopped?.reason).toBe('stream-end');
            if (lossPercent === 0 && jitterMillis < latencyMillis) {
              expect(peerStats.chunksLost).toBe(0);
            }
          }
        },
      ),
      { numRuns: 15, seed: 20261121 },
    );
  });
});
