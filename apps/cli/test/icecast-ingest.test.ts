import type { IcecastServer } from '@p2psp/testkit';
import { describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { openPlayer, until, walkMp3Frames, walkOggPages } from './helpers.js';
import {
  decode,
  decodeBytes,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
  useIcecast,
  waitForMount,
} from './real-servers.js';

// Issue 3, "Ingest from an http(s) URL, Icecast-compatible": a real Icecast 2 server (Debian
// package icecast2), fed live by ffmpeg as a source client, ingested by `p2psp source` (the
// built CLI), relayed by two `p2psp peer` processes and decoded by ffmpeg from each peer's
// player port. Then the Icecast server is stopped and started again: the source must log its
// reconnects with growing delays (backoff) and the players must get data again.

const { processes, startIcecast } = useIcecast();

const DECODE_SECONDS = 10;

/** Encoders for the two mounts: a 128 kbit/s MP3 and an Ogg/Opus with short pages. */
const MOUNTS = {
  'live.mp3': ['-c:a', 'libmp3lame', '-b:a', '128k', '-content_type', 'audio/mpeg', '-f', 'mp3'],
  'live.ogg': [
    ...['-c:a', 'libopus', '-b:a', '64k', '-page_duration', '20000'],
    ...['-content_type', 'audio/ogg', '-f', 'ogg'],
  ],
} as const;
type Mount = keyof typeof MOUNTS;

/** ffmpeg as an Icecast source client: a live sine (paced by -re), bounded to 90 s. */
function startSourceClient(server: IcecastServer, mount: Mount): RunningChild {
  return processes.spawn('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-re'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '90'],
    ...MOUNTS[mount],
    server.sourceUrl(mount),
  ]);
}

describe('ingest from a real Icecast 2 server (icecast2, ffmpeg as source client and decoder)', () => {
  it('peers of an MP3 and an Ogg/Opus mount decode cleanly, and play again after Icecast restarts', {
    timeout: 120_000,
  }, async (context) => {
    const server = await startIcecast(context);
    let sourceClients = (Object.keys(MOUNTS) as Mount[]).map((mount) =>
      startSourceClient(server, mount),
    );
    await Promise.all([
      waitForMount(server.mountUrl('live.mp3')),
      waitForMount(server.mountUrl('live.ogg')),
    ]);

    const mp3Source = await startP2pspSource(processes, '--input', server.mountUrl('live.mp3'));
    const oggSource = await startP2pspSource(processes, '--input', server.mountUrl('live.ogg'));
    const mp3Peers = [
      await startP2pspPeer(processes, mp3Source.port),
      await startP2pspPeer(processes, mp3Source.port),
    ];
    const oggPeer = await startP2pspPeer(processes, oggSource.port);

    // Raw readers beside the decoders: they count bytes across the restart, and their first
    // bytes must be whole frames/pages (ffmpeg would silently skip junk before a sync point).
    const readers = [...mp3Peers, oggPeer].map((peer) => openPlayer(peer.url));
    const results = await Promise.all(
      [...mp3Peers, oggPeer].map((peer) => decode(processes, peer.url, DECODE_SECONDS)),
    );
    for (const [index, result] of results.entries()) {
      expect(result.errors, `decoder ${index} errors`).toBe('');
      expect(result.status, `decoder ${index} exit`).toBe(0);
      expect(result.seconds, `decoder ${index} seconds`).toBeGreaterThanOrEqual(
        DECODE_SECONDS - 0.1,
      );
    }
    for (const reader of readers.slice(0, 2)) {
      expect(walkMp3Frames(reader.bytes())).toBeGreaterThan(100);
    }
    const oggWalk = walkOggPages(readers[2]!.bytes());
    expect(oggWalk.beginningPages).toBe(1);
    expect(oggWalk.pages).toBeGreaterThan(100);
    expect(logsNamed(mp3Source.running, 'source-start')[0]?.mediaType).toBe('audio/mpeg');

    // Icecast goes away, and its source clients with it: each p2psp source must retry with
    // growing delays (backoff), logging every attempt, while the peers keep their players.
    const sources = [mp3Source.running, oggSource.running];
    await server.stop();
    for (const client of sourceClients) ChildProcesses.kill(client.child);
    const atStop = readers.map((reader) => reader.receivedBytes);
    await until(
      () => sources.every((source) => logsNamed(source, 'ingest-reconnect').length >= 2),
      20_000,
      'two reconnect attempts by each source while Icecast is down',
    );
    for (const source of sources) {
      const delays = logsNamed(source, 'ingest-reconnect').map((line) => Number(line.delayMs));
      expect(delays[1], `backoff: ${delays.join(', ')} ms`).toBeGreaterThan(delays[0]!);
      expect(logsNamed(source, 'ingest-reconnect-done')).toHaveLength(0);
      // Meanwhile the cluster plays silence in the stream's format (MP3, Ogg Opus).
      expect(logsNamed(source, 'fallback-start')[0]).toMatchObject({ fallback: 'silence' });
    }
    // The MP3 players hear it while Icecast is still down (128 kbit/s: 8 KiB is 0.5 s).
    await until(
      () =>
        readers
          .slice(0, 2)
          .every((reader, index) => reader.receivedBytes > atStop[index]! + 8 * 1024),
      10_000,
      'the MP3 players to get silence while Icecast is down',
    );

    // Icecast and the source clients come back on the same port and mounts.
    await server.start();
    sourceClients = (Object.keys(MOUNTS) as Mount[]).map((mount) =>
      startSourceClient(server, mount),
    );
    await until(
      () => sources.every((source) => logsNamed(source, 'ingest-reconnect-done').length > 0),
      30_000,
      'each source to reconnect once Icecast is back',
    );
    const before = readers.map((reader) => reader.receivedBytes);
    // The players that stayed connected through the outage receive data again (64 KB is
    // 4 s of the 128 kbit/s MP3, 8 s of the 64 kbit/s Opus)...
    await until(
      () => readers.every((reader, index) => reader.receivedBytes > before[index]! + 32 * 1024),
      30_000,
      'the players to receive data again after the reconnect',
    );
    for (const reader of readers) {
      expect(reader.state.ended, `player ended: ${reader.state.error}`).toBe(false);
      reader.close();
    }
    // The Ogg player that stayed connected got a chained stream: the new header pages came
    // as data (RFC 3533 section 4), and ffmpeg decodes all it received with no error.
    const seam = decodeBytes(readers[2]!.bytes());
    expect(seam.errors, 'decoding the Ogg player across the restart').toBe('');
    expect(seam.status).toBe(0);
    // ...and a player that connects now decodes the resumed stream cleanly. For Ogg that
    // needs the NEW header: the restarted mount is a new logical stream (new serial numbers
    // and header pages), which the source captures again on `ingest-restart` and the peer
    // finds in the played data (regression: the old header gave 'Cannot identify new stream').
    const after = await Promise.all([
      decode(processes, mp3Peers[1]!.url, 3),
      decode(processes, oggPeer.url, 3),
    ]);
    for (const [index, result] of after.entries()) {
      expect(result.errors, `late decoder ${index} errors`).toBe('');
      expect(result.status, `late decoder ${index} exit`).toBe(0);
      expect(result.seconds, `late decoder ${index} seconds`).toBeGreaterThanOrEqual(3 - 0.1);
    }
    const restarts = logsNamed(oggSource.running, 'header-capture').filter((line) => line.restart);
    expect(restarts.length, 'the Ogg header captured again after the reconnect').toBeGreaterThan(0);
    for (const source of sources) expect(source.child.exitCode).toBeNull();
  });
});
