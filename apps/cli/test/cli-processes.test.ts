import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { openPlayer, until, walkMp3Frames } from './helpers.js';
import {
  DEMO_SAMPLE,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
  waitForLog,
} from './real-servers.js';

// The built bundle, run as users run it: separate processes, JSON logs (stderr is no TTY).
const processes = new ChildProcesses();

// Clean up by PID even when a test failed.
afterAll(() => processes.killAll());

describe('p2psp source and p2psp peer as processes', () => {
  it('stream MP3 to a player; the peer leaves with a goodbye on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const { running: source, port } = await startP2pspSource(
      processes,
      ...['--input', DEMO_SAMPLE, '--loop'],
    );
    expect(logsNamed(source, 'source-start')[0]!.mediaType).toBe('audio/mpeg');

    const { running: peer, url } = await startP2pspPeer(processes, port);
    const player = openPlayer(url);
    await until(() => player.receivedBytes > 24_000, 20_000, 'stream bytes');
    expect(player.state.contentType).toBe('audio/mpeg');
    expect(walkMp3Frames(player.bytes())).toBeGreaterThan(20);
    player.close();

    peer.child.kill('SIGTERM');
    expect(await peer.exited).toBe(0);
    // The source heard the goodbye (rule 6): the member left, not timed out.
    const leave = await waitForLog(source, 'peer-leave', 10_000, 'peer-leave');
    expect(leave.reason).toBe('leaving');
    expect(leave.members).toBe(0);

    source.child.kill('SIGINT');
    expect(await source.exited).toBe(0);
  });
});
