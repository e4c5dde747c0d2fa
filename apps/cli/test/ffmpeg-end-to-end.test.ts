import { type ChildProcess, spawn } from 'node:child_process';
import { type PeerHandle, startPeer } from '@p2psp/peer/node';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { ensureSystemTools, FFMPEG, freePort } from '@p2psp/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { openPlayer, sleep, until, walkMp3Frames, walkOggPages } from './helpers.js';
import { decode } from './real-servers.js';

let missing: string[] = [];
beforeAll(() => {
  // Installs ffmpeg when missing (as root); throws in CI if it is still missing.
  missing = ensureSystemTools([FFMPEG]);
});

const processes = new ChildProcesses();
/** The live encoders feeding a source's stdin (spawned here: their stdout is the input). */
const producers: ChildProcess[] = [];
const peers: PeerHandle[] = [];
let source: SourceHandle | undefined;

afterEach(async () => {
  // Clean up by PID, even when the test failed.
  processes.killAll();
  for (const producer of producers.splice(0)) ChildProcesses.kill(producer);
  await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  await source?.stop();
  source = undefined;
});

const DECODE_SECONDS = 10;

/** Decodes a peer's HTTP stream with ffmpeg for DECODE_SECONDS; any decode error fails it. */
const decodeStream = (url: string) => decode(processes, url, DECODE_SECONDS);

const PRODUCERS = {
  // Small pages (20 ms) so sync points come often.
  'Ogg/Opus': ['-c:a', 'libopus', '-b:a', '64k', '-page_duration', '20000', '-f', 'ogg'],
  MP3: ['-c:a', 'libmp3lame', '-b:a', '128k', '-f', 'mp3'],
} as const;

describe('end to end with ffmpeg: live encode -> source -> peers -> ffmpeg decode', () => {
  it.for(Object.keys(PRODUCERS) as (keyof typeof PRODUCERS)[])(
    '%s decodes cleanly at every peer, including a peer and a player that joined mid-stream',
    { timeout: 90_000 },
    async (format, context) => {
      if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
      // A live encode, paced by ffmpeg itself (-re), into the source's stdin (`--input -`).
      const producer = spawn(
        'ffmpeg',
        [
          '-hide_banner',
          '-nostdin',
          '-v',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440:sample_rate=48000',
          '-t',
          '45',
          ...PRODUCERS[format],
          '-',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      producers.push(producer);
      source = await startSource({
        input: '-',
        stdin: producer.stdout!,
        address: '127.0.0.1',
        port: 0,
        seed: 3,
      });
      const sourceEndpoint = { address: '127.0.0.1', port: source.endpoint.port };
      for (let index = 0; index < 2; index += 1) {
        peers.push(
          await startPeer({
            source: sourceEndpoint,
            address: '127.0.0.1',
            playerPort: 0,
            seed: 40 + index,
          }),
        );
      }
      const early = decodeStream(peers[0]!.playerUrl);
      // Mid-stream: the stream has run for a while before the next peer and player join.
      await until(() => peers[1]!.status().chunksPlayed > 100, 20_000, 'stream under way');
      await sleep(1_000);
      peers.push(
        await startPeer({
          source: sourceEndpoint,
          address: '127.0.0.1',
          playerPort: 0,
          seed: 50,
        }),
      );
      const latePeer = decodeStream(peers[2]!.playerUrl);
      const latePlayer = decodeStream(peers[1]!.playerUrl);
      // Raw readers beside the decoders: ffmpeg silently skips junk before a sync point, so
      // check the bytes themselves: the header, then whole pages/frames from the first byte.
      const rawReaders = [peers[0]!, peers[1]!, peers[2]!].map((peer) =>
        openPlayer(peer.playerUrl),
      );
      const results = await Promise.all([early, latePeer, latePlayer]);
      for (const [index, result] of results.entries()) {
        expect(result.errors, `decoder ${index} errors`).toBe('');
        expect(result.status, `decoder ${index} exit`).toBe(0);
        expect(result.seconds, `decoder ${index} decoded seconds`).toBeGreaterThanOrEqual(
          DECODE_SECONDS - 0.1,
        );
      }
      for (const [index, reader] of rawReaders.entries()) {
        const bytes = reader.bytes();
        reader.close();
        expect(bytes.byteLength, `reader ${index} bytes`).toBeGreaterThan(20_000);
        if (format === 'MP3') {
          expect(walkMp3Frames(bytes), `reader ${index} MP3 frames`).toBeGreaterThan(50);
        } else {
          const walk = walkOggPages(bytes);
          // Opus (RFC 7845 section 3): the identification header page begins the stream
          // (BOS flag), the comment header page follows, then audio pages only.
          expect(walk.beginningPages, `reader ${index} BOS pages`).toBe(1);
          expect(walk.pages, `reader ${index} Ogg pages`).toBeGreaterThan(50);
          expect(Buffer.from(bytes.subarray(28, 36)).toString('latin1')).toBe('OpusHead');
        }
      }
      expect(source.mediaType).toBe(format === 'MP3' ? 'audio/mpeg' : 'audio/ogg');
      for (const peer of peers) expect(peer.status().chunksLost).toBe(0);
    },
  );

  it('ingests a live MP3 URL served by ffmpeg itself (-listen 1) and a peer decodes it', {
    timeout: 90_000,
  }, async (context) => {
    if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
    const port = await freePort();
    processes.spawn('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=44100', '-t', '40'],
      ...['-c:a', 'libmp3lame', '-b:a', '128k', '-content_type', 'audio/mpeg', '-f', 'mp3'],
      ...['-listen', '1', `http://127.0.0.1:${port}/live.mp3`],
    ]);
    // ffmpeg needs a moment to listen: retry while the URL refuses connections (bounded).
    for (let attempt = 1; source === undefined; attempt += 1) {
      try {
        source = await startSource({
          input: `http://127.0.0.1:${port}/live.mp3`,
          address: '127.0.0.1',
          port: 0,
          seed: 5,
        });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== 'P2PSP_ERR_INGEST_REFUSED' || attempt >= 50) throw error;
        await sleep(100);
      }
    }
    expect(source.mediaType).toBe('audio/mpeg');
    peers.push(
      await startPeer({
        source: { address: '127.0.0.1', port: source.endpoint.port },
        address: '127.0.0.1',
        playerPort: 0,
        seed: 60,
      }),
    );
    const reader = openPlayer(peers[0]!.playerUrl);
    const result = await decodeStream(peers[0]!.playerUrl);
    expect(result.errors).toBe('');
    expect(result.status).toBe(0);
    expect(result.seconds).toBeGreaterThanOrEqual(DECODE_SECONDS - 0.1);
    expect(walkMp3Frames(reader.bytes())).toBeGreaterThan(50);
    reader.close();
    expect(peers[0]!.status().chunksLost).toBe(0);
  });
});
