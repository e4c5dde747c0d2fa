import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { openPlayer, until } from './helpers.js';

// Issue 5, real sockets: a source and 10 loopback peers as processes of the built bundle;
// `kill -9` of 3 peers. The 7 others keep playing, and the source's member list (its
// status port) shrinks to 7 once their silence passes --member-timeout (rule 6).
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const CREDENTIAL = 'kill-peers-monitor-secret';

const processes = new ChildProcesses();
const run = (...args: string[]) => processes.cli(...args);
// By PID, even when the test failed half way.
const killAll = () => processes.killAll();
afterAll(killAll);

function getJson(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      let body = '';
      response.on('data', (bytes: Buffer) => {
        body += bytes.toString();
      });
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (error) {
          reject(error);
        }
      });
    });
    request.setTimeout(5000, () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

const MPEG1_LAYER3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MPEG1_SAMPLE_RATES = [44_100, 48_000, 32_000];

/**
 * MPEG-1 Layer III frames (ISO 11172-3 2.4.2.3) in a player's bytes, resynchronising after
 * a gap (a chunk lost while the cluster reacted): frames found, and bytes outside frames.
 */
function scanMp3(bytes: Uint8Array): { frames: number; junkBytes: number } {
  const frameLength = (offset: number): number => {
    if (offset + 4 > bytes.byteLength) return 0;
    const [b0, b1, b2] = [bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!];
    const kbps = MPEG1_LAYER3_KBPS[b2 >> 4];
    const sampleRate = MPEG1_SAMPLE_RATES[(b2 >> 2) & 0x03];
    if (b0 !== 0xff || (b1 & 0xfe) !== 0xfa || !kbps || !sampleRate) return 0;
    return Math.floor((144_000 * kbps) / sampleRate) + ((b2 >> 1) & 0x01);
  };
  let offset = 0;
  let frames = 0;
  let junkBytes = 0;
  while (offset + 4 <= bytes.byteLength) {
    const length = frameLength(offset);
    // A frame counts when it ends the data or another frame header follows it.
    if (length > 0 && (offset + length >= bytes.byteLength || frameLength(offset + length) > 0)) {
      if (offset + length > bytes.byteLength) break;
      frames += 1;
      offset += length;
    } else {
      junkBytes += 1;
      offset += 1;
    }
  }
  return { frames, junkBytes };
}

describe('kill -9 of 3 of 10 loopback peers (processes of the built CLI)', () => {
  it('the 7 others keep playing and the source lists 7 members', { timeout: 90_000 }, async () => {
    try {
      const source = run(
        'source',
        '--input',
        demoSample,
        '--loop',
        '--address',
        '127.0.0.1',
        '--port',
        '0',
        '--buffer',
        '64',
        '--monitor-credential',
        CREDENTIAL,
        '--member-timeout',
        '6',
        '--status-port',
        '0',
      );
      await until(
        () => source.logs().some((line) => line.msg === 'status-listen'),
        20_000,
        'the source and its status port',
      );
      const start = source.logs().find((line) => line.msg === 'source-start')!;
      const port = String(start.endpoint).split(':').at(-1)!;
      const statusUrl = String(source.logs().find((line) => line.msg === 'status-listen')!.url);

      const statusOf = async () => {
        const status = await getJson(statusUrl);
        return status.members as { memberId: number; role: string }[];
      };
      const waitForMembers = async (count: number, limitMs: number) => {
        let members: { memberId: number; role: string }[] = [];
        const deadline = performance.now() + limitMs;
        while (members.length !== count && performance.now() < deadline) {
          members = await statusOf();
          if (members.length !== count) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return members;
      };
      const startPeer = (...extra: string[]) =>
        run(
          'peer',
          '--source',
          `127.0.0.1:${port}`,
          '--address',
          '127.0.0.1',
          '--player-port',
          '0',
          ...extra,
        );

      // The operator's monitor first (with the credential; otherwise the first ordinary
      // joiner would become one), then 9 ordinary peers.
      const peers: RunningChild[] = [startPeer('--monitor', '--credential', CREDENTIAL)];
      expect(await waitForMembers(1, 20_000)).toHaveLength(1);
      for (let index = 1; index < 10; index++) peers.push(startPeer());
      const urls: string[] = [];
      for (const peer of peers) {
        await until(() => /play: (http:\S+)/.test(peer.stdout()), 30_000, 'player URLs');
        urls.push(/play: (http:\S+)/.exec(peer.stdout())![1]!);
      }
      const members = await waitForMembers(10, 20_000);
      expect(members).toHaveLength(10);
      expect(members.filter((member) => member.role === 'monitor')).toHaveLength(1);

      // Players on the 7 that will survive (the monitor and peers 4-9).
      const survivors = [0, 4, 5, 6, 7, 8, 9];
      const players = survivors.map((index) => openPlayer(urls[index]!));
      await until(
        () => players.every((player) => player.receivedBytes > 16_000),
        20_000,
        'every survivor playing',
      );

      // Each peer's own view (GET /status on its player port): 10 members, itself included.
      const peerMembers = async () =>
        Promise.all(
          survivors.map(async (index) => {
            const status = await getJson(urls[index]!.replace(/\/stream$/, '/status'));
            return status.members as number;
          }),
        );
      let before = await peerMembers();
      const beforeDeadline = performance.now() + 10_000;
      while (before.some((count) => count !== 10) && performance.now() < beforeDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        before = await peerMembers();
      }
      expect(before).toEqual([10, 10, 10, 10, 10, 10, 10]);

      // The dashboard's feed: membership events as server-sent events.
      let eventText = '';
      const events = get(statusUrl.replace(/\/status$/, '/events'), (response) => {
        response.on('data', (bytes: Buffer) => {
          eventText += bytes.toString();
        });
      });
      events.on('error', () => {});
      await until(() => eventText.includes('membership events'), 5000, 'the event stream');

      // kill -9: no goodbye (rule 6).
      for (const victim of [1, 2, 3]) peers[victim]!.child.kill('SIGKILL');
      const atKill = players.map((player) => player.receivedBytes);
      const killedAt = performance.now();

      // The source drops the silent three (--member-timeout 6 s) and tells the others.
      const after = await waitForMembers(7, 30_000);
      const dropSeconds = (performance.now() - killedAt) / 1000;
      expect(after).toHaveLength(7);
      const status = await getJson(statusUrl);
      const removals = status.removals as { reason: string }[];
      expect(removals.filter((removal) => removal.reason === 'timeout')).toHaveLength(3);
      expect((status.stats as { membersExpelled: number }).membersExpelled).toBe(0);
      // The event stream said so as it happened.
      await until(
        () =>
          (eventText.match(/event: peer-leave\ndata: .*"reason":"timeout"/g) ?? []).length === 3,
        5000,
        'three peer-leave events',
      );
      events.destroy();
      // ...and told every survivor, which dropped them too.
      let counts = await peerMembers();
      const peerDeadline = performance.now() + 10_000;
      while (counts.some((count) => count !== 7) && performance.now() < peerDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        counts = await peerMembers();
      }
      expect(counts).toEqual([7, 7, 7, 7, 7, 7, 7]);

      // The survivors kept playing: at least 48 kB (3 s at 128 kbit/s) more each.
      await until(
        () => players.every((player, index) => player.receivedBytes > atKill[index]! + 48_000),
        20_000,
        'survivors playing after the kill',
      );
      const rows: string[] = [];
      for (const [index, player] of players.entries()) {
        const bytes = player.bytes();
        const { frames, junkBytes } = scanMp3(bytes);
        rows.push(
          `peer ${survivors[index]}: ${bytes.byteLength} bytes, ${frames} MP3 frames, ${junkBytes} bytes outside frames`,
        );
        expect(frames).toBeGreaterThan(100);
        // A lost chunk leaves a gap of at most a chunk's bytes; LRS keeps them rare.
        expect(junkBytes / bytes.byteLength).toBeLessThan(0.05);
        player.close();
      }
      const monitorStatus = peers[0]!;
      console.log(
        `kill -9 of 3 of 10 peers: the source listed 7 members ${dropSeconds.toFixed(1)} s later (--member-timeout 6)\n${rows.join('\n')}`,
      );
      expect(monitorStatus.child.exitCode).toBeNull();
    } finally {
      killAll();
    }
  });
});
