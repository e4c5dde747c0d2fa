import { get } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { getJson, mp3FrameLength, openPlayer, pollUntil, until } from './helpers.js';
import { DEMO_SAMPLE, startP2pspPeer, startP2pspSource, waitForLog } from './real-servers.js';

// Real sockets: a source and 10 loopback peers as processes of the built bundle; `kill -9`
// of 3 peers. The 7 others keep playing, and the source's member list (its status port)
// shrinks to 7 once their silence passes --member-timeout (rule 6).
const CREDENTIAL = 'kill-peers-monitor-secret';

const processes = new ChildProcesses();
// By PID, even when the test failed half way.
const killAll = () => processes.killAll();
afterAll(killAll);

/**
 * MPEG-1 Layer III frames in a player's bytes, resynchronising after a gap (a chunk lost
 * while the cluster reacted): frames found, and bytes outside frames.
 */
function scanMp3(bytes: Uint8Array): { frames: number; junkBytes: number } {
  let offset = 0;
  let frames = 0;
  let junkBytes = 0;
  while (offset + 4 <= bytes.byteLength) {
    const length = mp3FrameLength(bytes, offset);
    // A frame counts when it ends the data or another frame header follows it.
    if (
      length > 0 &&
      (offset + length >= bytes.byteLength || mp3FrameLength(bytes, offset + length) > 0)
    ) {
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
      const source = await startP2pspSource(
        processes,
        ...['--input', DEMO_SAMPLE, '--loop', '--buffer', '64'],
        ...['--monitor-credential', CREDENTIAL, '--member-timeout', '6', '--status-port', '0'],
      );
      const statusUrl = String(
        (await waitForLog(source.running, 'status-listen', 20_000, 'the status port')).url,
      );

      const waitForMembers = (count: number, limitMs: number) =>
        pollUntil(
          async () => (await getJson(statusUrl)).members as { memberId: number; role: string }[],
          (members) => members.length === count,
          limitMs,
          200,
        );
      const startPeer = (...extra: string[]) => startP2pspPeer(processes, source.port, ...extra);

      // The operator's monitor first (with the credential; otherwise the first ordinary
      // joiner would become one), then 9 ordinary peers.
      const monitor = await startPeer('--monitor', '--credential', CREDENTIAL);
      expect(await waitForMembers(1, 20_000)).toHaveLength(1);
      const peers = [monitor, ...(await Promise.all(Array.from({ length: 9 }, () => startPeer())))];
      const urls = peers.map((peer) => peer.url);
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
      const before = await pollUntil(
        peerMembers,
        (counts) => counts.every((count) => count === 10),
        10_000,
      );
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
      for (const victim of [1, 2, 3]) peers[victim]!.running.child.kill('SIGKILL');
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
      const counts = await pollUntil(
        peerMembers,
        (counts) => counts.every((count) => count === 7),
        10_000,
      );
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
      expect(monitorStatus.running.child.exitCode).toBeNull();
    } finally {
      killAll();
    }
  });
});
