import { createHash } from 'node:crypto';
import type { PeerHandle } from '@p2psp/peer/node';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loopbackSourceOptions,
  openPlayer,
  sleep,
  startLoopbackPeers,
  startRandomFeed,
  until,
} from './helpers.js';

const PEERS = 10;
const STREAM_SECONDS = 20;
const CHUNK_SIZE = 1024;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('a source and 10 peers on loopback, real UDP/TCP/HTTP', () => {
  const peers: PeerHandle[] = [];
  let source: SourceHandle | undefined;
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await source?.stop();
  });

  it('every player gets exactly the ingested bytes from its first chunk on, nothing lost', {
    timeout: 90_000,
  }, async () => {
    // 32 kB/s (256 kbit/s, a good audio stream): about 31 chunks a second.
    const feed = startRandomFeed({ bytesPerSecond: 32_000, maxSeconds: STREAM_SECONDS });
    const ingested: Buffer[] = [];
    source = await startSource({
      ...loopbackSourceOptions(feed),
      chunkSize: CHUNK_SIZE,
      bufferSize: 64,
      seed: 1,
      onIngest: (bytes) => ingested.push(Buffer.from(bytes)),
    });
    await startLoopbackPeers(source, PEERS, 100, peers);
    const players = peers.map((peer) => openPlayer(peer.playerUrl));
    await until(() => source!.status().members === PEERS, 10_000, 'all peers to be members');

    // The feed ends by itself after STREAM_SECONDS; the source then says stream-end and
    // every peer plays out its buffer and ends its players' responses.
    await until(() => players.every((player) => player.state.ended), 60_000, 'streams to end');
    await sleep(100);

    const sent = Buffer.concat(ingested);
    expect(sent.byteLength).toBeGreaterThan(STREAM_SECONDS * 20_000);
    for (const [index, player] of players.entries()) {
      const got = player.bytes();
      expect(player.state.status, `player ${index}`).toBe(200);
      expect(player.state.error, `player ${index}`).toBe('');
      // Most of the stream reached every player (they connected within the first seconds).
      expect(got.byteLength, `player ${index}`).toBeGreaterThan(sent.byteLength / 2);
      // Where its first delivered chunk sits in the ingest (random bytes: unique).
      const offset = sent.indexOf(got.subarray(0, 256));
      expect(offset, `player ${index} output found in the ingest`).toBeGreaterThanOrEqual(0);
      expect(sha256(got), `player ${index} bytes`).toBe(
        sha256(sent.subarray(offset, offset + got.byteLength)),
      );
      // Up to the end of the stream: nothing missing at the tail (a last partial chunk aside).
      expect(sent.byteLength - (offset + got.byteLength), `player ${index} tail`).toBeLessThan(
        CHUNK_SIZE,
      );
    }
    for (const [index, peer] of peers.entries()) {
      const status = peer.status();
      expect(status.chunksLost, `peer ${index} lost chunks`).toBe(0);
      expect(status.chunksRelayed, `peer ${index} relayed`).toBeGreaterThan(0);
    }
    // Rule 1: each chunk went to exactly one peer, so the source sent about one stream.
    const sourceStatus = source.status();
    expect(sourceStatus.chunksSent).toBeGreaterThan(0);
    expect(sourceStatus.host.datagramBytesSent).toBeLessThan(sent.byteLength * 1.2);
    feed.end();
  });
});
