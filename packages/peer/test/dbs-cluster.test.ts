import { type SourceConfig, SourceCore } from '@p2psp/source';
import { createRandom, decodeDatagram, type Endpoint } from '@p2psp/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PeerConfig, PeerCore } from '../src/index.js';
import {
  InMemoryNetwork,
  type NetworkOptions,
  type NodeRecord,
  scheduleIngest,
  streamBytes,
} from '../src/testing.js';

const SOURCE: Endpoint = { address: '10.0.0.1', port: 4552 };
const CHUNK_SIZE = 1024;
/** 16 KB/s (128 kbit/s): 512 bytes every 32 ms, a chunk every 64 ms. */
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
    lose: (from: NodeRecord, to: Endpoint, bytes: Uint8Array): boolean => {
      if (from.name !== 'source' || lost.chunkNumber !== null || to.address === '10.0.1.1') {
        return false;
      }
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

interface ClusterOptions extends NetworkOptions {
  readonly peers: number;
  readonly streamBytes: number;
  readonly bufferSize?: number;
  /** When each peer joins (virtual ms). Default: 20 ms apart from t = 0. */
  readonly joinAt?: (index: number) => number;
  readonly peerConfig?: (index: number) => Partial<PeerConfig>;
  readonly endStream?: boolean;
  readonly source?: Partial<SourceConfig>;
}

/** A source and N peers on an in-memory network, the ingest scheduled from t = 0. */
function createCluster(options: ClusterOptions) {
  const network = new InMemoryNetwork(options);
  const sourceCore = new SourceCore({
    random: createRandom(1),
    chunkSize: CHUNK_SIZE,
    bufferSize: options.bufferSize ?? 32,
    mediaType: 'audio/mpeg',
    ...options.source,
  });
  const source = network.add('source', sourceCore, SOURCE, true);
  const stream = streamBytes(options.streamBytes);
  const ingestEnd = scheduleIngest(network, source, stream, {
    start: 0,
    pieceBytes: PIECE_BYTES,
    periodMillis: PIECE_PERIOD,
    end: options.endStream ?? true,
  });
  const peers: { node: NodeRecord; core: PeerCore }[] = [];
  const joinAt = options.joinAt ?? ((index: number) => index * 20);
  const order = Array.from({ length: options.peers }, (_, index) => index).sort(
    (a, b) => joinAt(a) - joinAt(b),
  );
  for (const index of order) {
    network.runUntil(joinAt(index));
    const core = new PeerCore({
      source: SOURCE,
      random: createRandom(100 + index),
      ...options.peerConfig?.(index),
    });
    peers[index] = { node: network.add(`peer-${index}`, core, peerEndpoint(index)), core };
  }
  return { network, source, sourceCore, stream, peers, ingestEnd };
}

/** The bytes a peer played, from its first delivered chunk on, and where that is. */
function played(node: NodeRecord) {
  const first = node.plays.findIndex((play) => play.payload !== null);
  const plays = node.plays.slice(first);
  const bytes = Buffer.concat(plays.map((play) => play.payload ?? new Uint8Array(0)));
  return { firstChunk: plays[0]?.chunkNumber ?? -1, bytes, plays };
}

function chunksSentBy(node: NodeRecord) {
  return node.sent.flatMap(({ at, to, bytes }) => {
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

describe('a source and peers on an in-memory network (DBS rules 1-6)', () => {
  it('joins everyone, feeds them round robin, and every peer plays the ingested bytes', () => {
    const peerCount = 5;
    const { network, source, sourceCore, stream, peers, ingestEnd } = createCluster({
      peers: peerCount,
      streamBytes: 16_000 * 20, // 20 s
    });
    network.runUntil(2_000);
    // Join flow (rule 4): everyone in the round robin, and everyone knows everyone.
    expect(sourceCore.stats().members).toBe(peerCount);
    expect(sourceCore.members().map((member) => member.memberId)).toEqual([1, 2, 3, 4, 5]);
    expect(sourceCore.stats().monitors).toBe(1); // the first joiner (rule 8 default)
    for (const { core, node } of peers) {
      expect(core.state).toBe('streaming');
      expect(core.stats().neighbours).toBe(peerCount - 1);
      expect(node.headers).toEqual([{ mediaType: 'audio/mpeg', header: new Uint8Array(0) }]);
    }

    network.runUntil(ingestEnd + 3_000);
    const stats = sourceCore.stats();
    expect(stats.bytesIngested).toBe(stream.length);
    expect(source.stopped?.reason).toBe('stream-end');

    // Rule 1: after the last join, chunk n goes to member (n mod N) of the round: every
    // window of N consecutive chunks reaches N different members, in the same order.
    const sentChunks = chunksSentBy(source);
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
    const ratio = source.uploadBytes / stats.chunkBytesSent;
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.02);

    for (const { core, node } of peers) {
      // Played bytes equal the ingested bytes from the first delivered chunk on, no loss.
      const { firstChunk, bytes, plays } = played(node);
      expect(plays.every((play) => play.payload !== null)).toBe(true);
      const offset = firstChunk * CHUNK_SIZE;
      expect(bytes.length).toBe(stream.length - offset);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(offset)))).toBe(0);
      expect(node.stopped?.reason).toBe('stream-end');
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
    const lastPlays = played(lastPeer.node);
    expect(lastPlays.firstChunk).toBeLessThanOrEqual(2);
  });

  it('paces relays across the time to the next source chunk (rule 3)', () => {
    const peerCount = 5;
    const { network, peers } = createCluster({ peers: peerCount, streamBytes: 16_000 * 6 });
    network.runUntil(5_000);
    const byChunk = new Map<number, number[]>();
    for (const relay of chunksSentBy(peers[2]!.node)) {
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
    const { network, sourceCore, peers, stream } = createCluster({
      peers: 4,
      streamBytes: 16_000 * 10,
      // Plain DBS at the source: LRS (on by default) would resend it (tested below).
      source: { cluster: { lostChunkRecovery: false } },
      // The first source datagram from chunk 60 on that goes to a non-monitor (peer 0, the
      // first joiner, is the monitor: monitors are trusted, never charged) never arrives.
      lose: lost.lose,
    });
    network.runUntil(15_000);
    expect(lost.chunkNumber).not.toBeNull();
    for (const { core, node } of peers) {
      expect(core.stats().chunksLost).toBe(1);
      const nulls = node.plays.filter((play) => play.payload === null);
      expect(nulls.map((play) => play.chunkNumber)).toEqual([lost.chunkNumber]);
      expect(node.events.some((event) => event.name === 'chunk-lost')).toBe(true);
      // The rest is intact and in order.
      const { firstChunk, plays } = played(node);
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

  it('drops a member that says goodbye, at the source and at every peer (rule 6)', () => {
    const { network, sourceCore, peers } = createCluster({ peers: 4, streamBytes: 16_000 * 10 });
    network.runUntil(3_000);
    const leaving = peers[1]!;
    network.schedule(leaving.node, { type: 'stop' }, 3_000);
    network.runUntil(3_100);
    expect(leaving.node.stopped?.reason).toBe('stop');
    expect(sourceCore.stats().members).toBe(3);
    expect(sourceCore.members().map((member) => member.memberId)).not.toContain(
      leaving.core.memberId,
    );
    for (const other of [peers[0]!, peers[2]!, peers[3]!]) {
      expect(other.core.stats().neighbours).toBe(2);
      expect(other.node.events.some((event) => event.name === 'peer-leave')).toBe(true);
    }
    const lostBefore = peers.map(({ core }) => core.stats().chunksLost);
    network.runUntil(15_000);
    for (const index of [0, 2, 3]) {
      const { core, node } = peers[index]!;
      // At most the chunk the source sent to the leaver while its goodbye was in flight.
      expect(core.stats().chunksLost - lostBefore[index]!).toBeLessThanOrEqual(1);
      expect(node.stopped?.reason).toBe('stream-end');
    }
  });

  it('drops and counts garbage and foreign datagrams, and keeps streaming', () => {
    const { network, source, sourceCore, peers, stream } = createCluster({
      peers: 3,
      streamBytes: 16_000 * 8,
    });
    network.runUntil(1_000);
    const stranger: Endpoint = { address: '192.0.2.66', port: 6666 };
    const random = createRandom(7);
    const targets = [source, ...peers.map(({ node }) => node)];
    for (let index = 0; index < 300; index++) {
      const length = Math.floor(random.next() * 64);
      const bytes = Uint8Array.from({ length }, () => Math.floor(random.next() * 256));
      // Half of them start with a valid version and type byte, to get past the first check.
      if (index % 2 === 0 && length >= 2) {
        bytes[0] = 1;
        bytes[1] = 0x10 + (index % 9);
      }
      network.inject(stranger, targets[index % targets.length]!, bytes, 1_000 + index * 10);
    }
    network.runUntil(12_000);
    const sourceDrops = sourceCore.stats().datagramsDropped;
    expect(sourceDrops.malformed + sourceDrops['non-member']).toBeGreaterThan(50);
    for (const { core, node } of peers) {
      const drops = core.stats().datagramsDropped;
      expect(drops.malformed).toBeGreaterThan(10);
      expect(core.stats().chunksLost).toBe(0);
      const { firstChunk, bytes } = played(node);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(firstChunk * CHUNK_SIZE)))).toBe(0);
      // Reported once per reason, not once per datagram.
      const dropEvents = node.events.filter((event) => event.name === 'datagram-drop');
      expect(dropEvents.length).toBeLessThanOrEqual(7);
    }
  });

  it('brings a peer that joins mid-stream to byte-exact play-out from its first chunk', () => {
    const peerCount = 10;
    const { network, peers, stream, sourceCore } = createCluster({
      peers: peerCount,
      bufferSize: 64,
      streamBytes: 16_000 * 20,
      // Nine at the start, the last one 8 s into the stream.
      joinAt: (index) => (index === peerCount - 1 ? 8_000 : index * 20),
    });
    network.runUntil(8_000 + 2_000);
    expect(sourceCore.stats().members).toBe(peerCount);
    const late = peers[peerCount - 1]!;
    expect(late.node.headers).toHaveLength(1);
    expect(late.core.stats().neighbours).toBe(peerCount - 1);
    network.runUntil(30_000);
    for (const { core, node } of peers) {
      const { firstChunk, bytes, plays } = played(node);
      expect(plays.every((play) => play.payload !== null)).toBe(true);
      expect(Buffer.compare(bytes, Buffer.from(stream.subarray(firstChunk * CHUNK_SIZE)))).toBe(0);
      expect(core.stats().chunksLost).toBe(0);
    }
    // The late joiner starts near where the stream was when it joined (125 chunks in),
    // a little before: relays of the last round's chunks were still under way.
    const lateStart = played(late.node).firstChunk;
    expect(lateStart).toBeGreaterThan(110);
    expect(lateStart).toBeLessThan(135);
    // Join time: from connect to its first chunk played, under 1 s of virtual time here
    // (half the buffer of 64-ms chunks).
    const firstPlay = late.node.plays.find((play) => play.payload !== null)!;
    expect(firstPlay.at - 8_000).toBeLessThan(3_000);
  });

  it('recovers a chunk every monitor lost through a monitor (LRS)', () => {
    const lost = loseOneSourceChunk();
    const { network, sourceCore, peers } = createCluster({
      peers: 4,
      bufferSize: 32,
      streamBytes: 16_000 * 10,
      source: { cluster: { lostChunkRecovery: true } },
      lose: lost.lose,
    });
    network.runUntil(15_000);
    expect(sourceCore.stats().chunksRecovered).toBe(1);
    // With RMS-lite repair (default) the monitor complains as soon as its repair fails,
    // before its own play time (3B/8), so the resend reaches it too, and the others (B/2).
    expect(peers[0]!.core.monitor).toBe(true);
    for (const { core } of peers) expect(core.stats().chunksLost).toBe(0);
    expect(sourceCore.stats().complaintsReceived).toBe(1);
  });

  it('LRS without repair: the monitor (B/4 delay) loses the chunk, the others get the resend', () => {
    const lost = loseOneSourceChunk();
    const { network, sourceCore, peers } = createCluster({
      peers: 4,
      bufferSize: 32,
      streamBytes: 16_000 * 10,
      source: { cluster: { lostChunkRecovery: true } },
      peerConfig: () => ({ repair: false }),
      lose: lost.lose,
    });
    network.runUntil(15_000);
    expect(sourceCore.stats().chunksRecovered).toBe(1);
    expect(peers[0]!.core.monitor).toBe(true);
    expect(peers[0]!.core.stats().chunksLost).toBe(1);
    for (const { core } of peers.slice(1)) expect(core.stats().chunksLost).toBe(0);
  });

  it('drops a member that vanished without goodbye at the source and the peers (liveness)', () => {
    const { network, sourceCore, peers } = createCluster({
      peers: 5,
      streamBytes: 16_000 * 20,
      source: { cluster: { livenessTimeoutMillis: 5_000 } },
    });
    network.runUntil(3_000);
    const crashed = peers[2]!;
    network.crash(crashed.node);
    network.runUntil(9_000);
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
    network.runUntil(25_000);
    for (const index of [0, 1, 3, 4]) {
      expect(peers[index]!.core.stats().chunksLost).toBe(lostAfterRemoval[index]);
      expect(peers[index]!.node.stopped?.reason).toBe('stream-end');
    }
  });

  it('stops the peers when the source vanishes without goodbye (source silence)', () => {
    const { network, source, peers } = createCluster({
      peers: 3,
      streamBytes: 16_000 * 60,
      peerConfig: () => ({ sourceTimeoutMillis: 10_000 }),
    });
    network.runUntil(3_000);
    network.crash(source);
    network.runUntil(12_000);
    for (const { core } of peers) expect(core.state).toBe('streaming');
    network.runUntil(14_000);
    for (const { core, node } of peers) {
      expect(node.stopped?.reason).toMatch(/^P2PSP_ERR_SOURCE_SILENT/);
      // What was buffered was played before stopping: nothing lost.
      expect(core.stats().chunksLost).toBe(0);
    }
  });

  it('joins peers that arrive at the same instant, with 5 ms links, without holes', () => {
    const peerCount = 8;
    const { network, peers, stream, sourceCore } = createCluster({
      peers: peerCount,
      bufferSize: 64,
      latencyMillis: 5,
      streamBytes: 16_000 * 15,
      // The stream is 3 s in when all eight connect at once.
      joinAt: () => 3_000,
    });
    network.runUntil(25_000);
    expect(sourceCore.members()).toHaveLength(peerCount);
    for (const { core, node } of peers) {
      // Everyone learnt everyone, although their accepts listed nobody.
      expect(node.events.filter((event) => event.name === 'neighbour-add')).toHaveLength(
        peerCount - 1,
      );
      const { firstChunk, bytes, plays } = played(node);
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
          const random = createRandom(seed);
          const { network, source, sourceCore, stream, peers } = createCluster({
            peers: peerCount,
            bufferSize: 32,
            streamBytes: 16_000 * 8,
            latencyMillis,
            jitterMillis,
            random,
            lose: () => random.next() < lossPercent / 100,
            joinAt: (index) => (index * joinSpread) / peerCount,
          });
          network.runUntil(15_000);
          // The source: every chunk cut once, to one member, never twice (rule 1); LRS (on by
          // default) may resend one every monitor lost, flagged recovered.
          const sentNumbers = chunksSentBy(source)
            .filter(({ recovered }) => !recovered)
            .map(({ chunkNumber }) => chunkNumber);
          expect(new Set(sentNumbers).size).toBe(sentNumbers.length);
          const stats = sourceCore.stats();
          expect(stats.chunksSent + stats.chunksDropped).toBe(stats.chunksCut);
          for (const { core, node } of peers) {
            // In order, one chunk number after the other, each payload the stream's bytes.
            for (let index = 1; index < node.plays.length; index++) {
              expect(node.plays[index]!.chunkNumber).toBe(node.plays[index - 1]!.chunkNumber + 1);
            }
            for (const play of node.plays) {
              if (play.payload === null) continue;
              const offset = play.chunkNumber * CHUNK_SIZE;
              const expected = stream.subarray(offset, offset + play.payload.length);
              expect(Buffer.from(play.payload).equals(expected)).toBe(true);
            }
            const peerStats = core.stats();
            expect(peerStats.chunksPlayed + peerStats.chunksLost).toBe(node.plays.length);
            // Every peer reaches the end of the stream.
            expect(node.stopped?.reason).toBe('stream-end');
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
