import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { openPlayer, until, walkMp3Frames } from './helpers.js';

// The built bundle, run as users run it: separate processes, JSON logs (stderr is no TTY).
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');

const processes = new ChildProcesses();
const run = (...args: string[]) => processes.cli(...args);

// Clean up by PID even when a test failed.
afterAll(() => processes.killAll());

describe('p2psp source and p2psp peer as processes', () => {
  it('stream MP3 to a player; the peer leaves with a goodbye on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const source = run(
      'source',
      '--input',
      demoSample,
      '--loop',
      '--address',
      '127.0.0.1',
      '--port',
      '0',
    );
    await until(
      () => source.logs().some((line) => line.msg === 'source-start'),
      20_000,
      'source start',
    );
    const start = source.logs().find((line) => line.msg === 'source-start')!;
    expect(start.mediaType).toBe('audio/mpeg');
    const port = String(start.endpoint).split(':').at(-1)!;

    const peer = run(
      'peer',
      '--source',
      `127.0.0.1:${port}`,
      '--address',
      '127.0.0.1',
      '--player-port',
      '0',
    );
    await until(() => /play: (http:\S+)/.test(peer.stdout()), 20_000, 'the player URL');
    const url = /play: (http:\S+)/.exec(peer.stdout())![1]!;
    const player = openPlayer(url);
    await until(() => player.receivedBytes > 24_000, 20_000, 'stream bytes');
    expect(player.state.contentType).toBe('audio/mpeg');
    expect(walkMp3Frames(player.bytes())).toBeGreaterThan(20);
    player.close();

    peer.child.kill('SIGTERM');
    expect(await peer.exited).toBe(0);
    // The source heard the goodbye (rule 6): the member left, not timed out.
    await until(
      () => source.logs().some((line) => line.msg === 'peer-leave'),
      10_000,
      'peer-leave',
    );
    const leave = source.logs().find((line) => line.msg === 'peer-leave')!;
    expect(leave.reason).toBe('leaving');
    expect(leave.members).toBe(0);

    source.child.kill('SIGINT');
    expect(await source.exited).toBe(0);
  });
});
