import { join } from 'node:path';
import { ensureSystemTools, FFMPEG } from '@p2psp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { fetchJson, sleep, until, waitFor } from './helpers.js';
import { decode, logsNamed, startP2pspPeer, startP2pspSource } from './real-servers.js';

// Real sockets on loopback: `p2psp source --max-members 2` and 3 peers (processes of the
// built CLI). The third joiner is an external peer (seed 000): fed by the two members, not
// by the source. Before, both members dropped it for debt about 4 s in and it went silent
// for good; now it plays for 60 s with chunk loss <= 1%, and ffmpeg decodes its /stream.

const SAMPLE = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const PLAY_SECONDS = 60;

let missing: string[] = [];
beforeAll(() => {
  missing = ensureSystemTools([FFMPEG]);
});

const processes = new ChildProcesses();
afterAll(() => processes.killAll());

interface PeerStatus {
  role: string;
  memberId: number;
  chunksPlayed: number;
  chunksLost: number;
}

describe('an external peer on loopback (--max-members 2, 3 peers)', () => {
  it(`plays ${PLAY_SECONDS} s with chunk loss <= 1%, and ffmpeg decodes its stream`, {
    timeout: (PLAY_SECONDS + 60) * 1000,
  }, async (context) => {
    if (missing.length > 0) context.skip();
    try {
      const source = await startP2pspSource(
        processes,
        ...['--input', SAMPLE, '--loop', '--max-members', '2', '--status-port', '0'],
      );
      await until(
        () => logsNamed(source.running, 'status-listen').length > 0,
        20_000,
        'the status port',
      );
      const statusUrl = String(logsNamed(source.running, 'status-listen')[0]!.url);
      const members = () =>
        fetchJson<{ members: { memberId: number; role: string }[] }>(statusUrl).then(
          (status) => status.members,
        );
      // One at a time, so the third is the one above the limit.
      const peers = [];
      for (let count = 1; count <= 3; count++) {
        peers.push(await startP2pspPeer(processes, source.port));
        await waitFor(
          async () => (await members()).length === count,
          20_000,
          `${count} members at the source`,
        );
      }
      const roles = (await members()).map((member) => member.role).sort();
      expect(roles).toEqual(['external', 'member', 'monitor']);

      const statusOf = (url: string) => fetchJson<PeerStatus>(url.replace(/\/stream$/, '/status'));
      const statuses = await Promise.all(peers.map((peer) => statusOf(peer.url)));
      const externalIndex = statuses.findIndex((status) => status.role === 'external');
      expect(externalIndex).toBe(2);
      const external = peers[externalIndex]!;

      // Measured from its first played chunk, over PLAY_SECONDS, with a player decoding.
      let start: PeerStatus = statuses[externalIndex]!;
      await waitFor(
        async () => {
          start = await statusOf(external.url);
          return start.chunksPlayed > 0;
        },
        20_000,
        'the external playing',
      );
      const decoded = decode(processes, external.url, PLAY_SECONDS - 10);
      await sleep(PLAY_SECONDS * 1000);
      const end = await statusOf(external.url);
      const played = end.chunksPlayed - start.chunksPlayed;
      const lost = end.chunksLost - start.chunksLost;
      const { status, errors, seconds } = await decoded;
      const dropsForDebt = peers.flatMap((peer) =>
        logsNamed(peer.running, 'neighbour-drop').filter((line) => line.reason === 'debt'),
      );
      console.log(
        `external peer on loopback: ${played} chunks played, ${lost} lost (${((100 * lost) / Math.max(1, played + lost)).toFixed(2)}%) in ${PLAY_SECONDS} s; ffmpeg decoded ${seconds.toFixed(1)} s`,
      );
      // 60 s of a 128 kbit/s stream in 1,024-byte chunks is about 940 chunks.
      expect(played).toBeGreaterThan(700);
      expect(lost / (played + lost)).toBeLessThanOrEqual(0.01);
      expect(dropsForDebt).toEqual([]);
      expect(errors).toBe('');
      expect(status).toBe(0);
      expect(seconds).toBeGreaterThan(PLAY_SECONDS - 15);
    } finally {
      processes.killAll();
    }
  });
});
