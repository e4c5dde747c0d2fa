import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSystemTools, FFMPEG } from '@p2psp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { fetchJson, openPlayer, timedPlayer, until, waitFor, walkOggPages } from './helpers.js';
import {
  DEMO_SAMPLE,
  decode,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
} from './real-servers.js';

// Real sockets on loopback, processes of the built CLI: a public cluster (a source and 3
// peers) and a liberated peer (seed 000), fed by the 3 peers and not by the source; a
// second `p2psp source` ingests the liberated peer's player URL as it would an Icecast
// mount, and 3 private peers join it. ffmpeg decodes every private peer; the public
// source's upload stays about 1x the stream, and it sends the liberated member no chunk
// of the round robin. In MP3, and in Ogg/Opus, whose stream header (OpusHead, OpusTags) the
// private source must take from the liberated peer's output and give its own joiners.

const DECODE_SECONDS = 15;
const PEERS = 3;

let missing: string[] = [];
beforeAll(() => {
  missing = ensureSystemTools([FFMPEG]);
});

const processes = new ChildProcesses();
const scratch = mkdtempSync(join(tmpdir(), 'p2psp-private-'));
afterAll(() => {
  processes.killAll();
  rmSync(scratch, { recursive: true, force: true });
});

/** The public source's input: the demo MP3, or 90 s of Ogg/Opus in 20 ms pages. */
function inputFor(format: 'MP3' | 'Ogg/Opus'): string {
  if (format === 'MP3') return DEMO_SAMPLE;
  const path = join(scratch, 'sine.ogg');
  const encoded = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi'],
      ...['-i', 'sine=frequency=440:sample_rate=48000:duration=90'],
      ...['-c:a', 'libopus', '-b:a', '64k', '-page_duration', '20000', path],
    ],
    { timeout: 60_000 },
  );
  if (encoded.status !== 0) throw new Error(`ffmpeg: ${encoded.stderr.toString()}`);
  return path;
}

interface PeerStatus {
  role: string;
  memberId: number;
  chunksPlayed: number;
  chunksLost: number;
  chunksRelayed: number;
  members: number;
}

interface SourceStatus {
  members: { memberId: number; role: string; chunksSent: number }[];
  stats: { bytesIngested: number; datagramBytesSent: number; chunksCut: number };
}

const statusOf = (url: string) => fetchJson<PeerStatus>(url.replace(/\/stream$/, '/status'));

/** A source with a status port: its cluster port and its status URL. */
async function sourceWithStatus(...args: string[]) {
  const source = await startP2pspSource(processes, ...args, '--status-port', '0');
  await until(
    () => logsNamed(source.running, 'status-listen').length > 0,
    20_000,
    'the status port',
  );
  const statusUrl = String(logsNamed(source.running, 'status-listen')[0]!.url);
  return { ...source, status: () => fetchJson<SourceStatus>(statusUrl) };
}

/**
 * How much later the private player got the same bytes than the public one: a 4 KiB run the
 * private player got `atMillis` after it opened, found in the public player's bytes (the
 * stream is the same bytes end to end: nobody re-encodes). Undefined when not found.
 */
function lagMillis(
  publicPlayer: ReturnType<typeof timedPlayer>,
  privatePlayer: ReturnType<typeof timedPlayer>,
  openedAt: number,
  atMillis: number,
): number | undefined {
  const privateBytes = privatePlayer.bytes();
  let offset = 0;
  while ((privatePlayer.arrivedAt(offset) ?? Infinity) < openedAt + atMillis) offset += 1024;
  const run = privateBytes.subarray(offset, offset + 4096);
  if (run.byteLength < 4096) return undefined;
  const publicOffset = publicPlayer.bytes().indexOf(run);
  const publicAt = publicOffset < 0 ? undefined : publicPlayer.arrivedAt(publicOffset);
  const privateAt = privatePlayer.arrivedAt(offset);
  return publicAt === undefined || privateAt === undefined ? undefined : privateAt - publicAt;
}

/** `count` peers of `source`, one at a time, each playing before the next joins. */
async function peersOf(source: { port: string }, count: number, ...args: string[]) {
  const peers = [];
  for (let index = 0; index < count; index++) {
    const peer = await startP2pspPeer(processes, source.port, ...args);
    await waitFor(
      async () => (await statusOf(peer.url)).chunksPlayed > 0,
      30_000,
      'a peer playing',
    );
    peers.push(peer);
  }
  return peers;
}

describe('a private cluster fed by a liberated peer of the public one (loopback)', () => {
  it.for(['MP3', 'Ogg/Opus'] as const)(
    `%s: the liberated peer costs the public source nothing; ffmpeg decodes every private peer for ${DECODE_SECONDS} s`,
    { timeout: 150_000 },
    async (format, context) => {
      if (missing.length > 0) context.skip();
      try {
        const publicSource = await sourceWithStatus('--input', inputFor(format), '--loop');
        const publicPeers = await peersOf(publicSource, PEERS);
        const [liberated] = await peersOf(publicSource, 1, '--liberated');
        expect((await statusOf(liberated!.url)).role).toBe('liberated');

        const privateSource = await sourceWithStatus('--input', liberated!.url);
        const privatePeers = await peersOf(privateSource, PEERS);

        const before = await publicSource.status();
        const startedAt = performance.now();
        // A raw reader beside the decoders: ffmpeg skips junk silently; the bytes must be the
        // stream header, then whole pages.
        const reader = openPlayer(privatePeers[0]!.url);
        // Two timed players, one per cluster, for the private hop's delay.
        const openedAt = performance.now();
        const publicPlayer = timedPlayer(publicPeers[0]!.url);
        const privatePlayer = timedPlayer(privatePeers[1]!.url);
        const decoded = await Promise.all(
          privatePeers.map((peer) => decode(processes, peer.url, DECODE_SECONDS)),
        );
        const bytes = reader.bytes();
        reader.close();
        publicPlayer.close();
        privatePlayer.close();
        const lag = lagMillis(publicPlayer, privatePlayer, openedAt, (DECODE_SECONDS - 5) * 1000);
        if (format === 'Ogg/Opus') {
          // RFC 7845 section 3: the identification header page (BOS) first, then the rest.
          expect(walkOggPages(bytes).beginningPages).toBe(1);
          expect(Buffer.from(bytes.subarray(28, 36)).toString('latin1')).toBe('OpusHead');
        }
        const after = await publicSource.status();
        const seconds = (performance.now() - startedAt) / 1000;

        // The public source: the liberated member got no chunk of the round robin, and the
        // upload stays the stream's once (plus headers, keepalives, notices).
        const liberatedId = (await statusOf(liberated!.url)).memberId;
        const member = after.members.find((entry) => entry.memberId === liberatedId);
        expect(member).toMatchObject({ role: 'liberated', chunksSent: 0 });
        const upload = after.stats.datagramBytesSent - before.stats.datagramBytesSent;
        const stream = after.stats.bytesIngested - before.stats.bytesIngested;
        const ratio = upload / stream;

        // The liberated peer relayed at most its onboarding chunk (once to each member), and
        // no member dropped it for debt: they fed it as an external.
        const liberatedStatus = await statusOf(liberated!.url);
        expect(liberatedStatus.chunksRelayed).toBeLessThanOrEqual(PEERS + 1);
        const dropsForDebt = publicPeers.flatMap((peer) =>
          logsNamed(peer.running, 'neighbour-drop').filter((line) => line.reason === 'debt'),
        );
        expect(dropsForDebt).toEqual([]);

        // The private cluster numbers its chunks itself, from its own start.
        const privateStatus = await privateSource.status();
        const privateCut = privateStatus.stats.chunksCut;
        expect(privateCut).toBeGreaterThan(0);
        expect(privateCut).toBeLessThan(after.stats.chunksCut);

        const privateStats = await Promise.all(privatePeers.map((peer) => statusOf(peer.url)));
        console.log(
          [
            `private cluster on loopback, ${format}: public source upload ${(ratio).toFixed(3)}x the stream over ${seconds.toFixed(1)} s (${upload} B sent, ${stream} B ingested); liberated member chunksSent ${member?.chunksSent}, liberated relayed ${liberatedStatus.chunksRelayed}; a private player got the same bytes ${lag === undefined ? 'n/a' : `${Math.round(lag)} ms`} after a public one`,
            ...privateStats.map(
              (status, index) =>
                `  private peer ${index + 1}: ${status.chunksPlayed} played, ${status.chunksLost} lost; ffmpeg ${decoded[index]!.seconds.toFixed(1)} s, status ${decoded[index]!.status}`,
            ),
          ].join('\n'),
        );
        expect(ratio).toBeLessThan(1.1);
        for (const { status, errors, seconds: decodedSeconds } of decoded) {
          expect(errors).toBe('');
          expect(status).toBe(0);
          expect(decodedSeconds).toBeGreaterThan(DECODE_SECONDS - 3);
        }
      } finally {
        processes.killAll();
      }
    },
  );
});
