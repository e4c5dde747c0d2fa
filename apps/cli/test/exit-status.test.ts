import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { until } from './helpers.js';

// Every command exits non-zero on failure, naming the cause, so that a supervisor that
// restarts on failure restarts it; a stop asked for, or a stream that ended, exits 0.
// Real processes of the built bundle on loopback, killed by PID in afterAll.
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const processes = new ChildProcesses();
afterAll(() => processes.killAll());

async function sourceAndPeer() {
  const source = processes.cli(
    'source',
    '--input',
    demoSample,
    '--loop',
    '--address',
    '127.0.0.1',
    '--port',
    '0',
  );
  await until(() => source.logs().some((line) => line.msg === 'source-start'), 20_000, 'source');
  const endpoint = String(source.logs().find((line) => line.msg === 'source-start')!.endpoint);
  const peer = processes.cli(
    'peer',
    '--source',
    `127.0.0.1:${endpoint.split(':').at(-1)}`,
    '--address',
    '127.0.0.1',
    '--player-port',
    '0',
  );
  await until(() => peer.stdout().includes('play: '), 30_000, 'the peer playing');
  return { source, peer };
}

describe('exit status of p2psp source and peer (real processes)', () => {
  it('a peer whose source vanished exits 1 naming the cause', { timeout: 90_000 }, async () => {
    const { source, peer } = await sourceAndPeer();
    // No goodbye: the peer hears nothing more (rule 6's silence, 30 s by default).
    ChildProcesses.kill(source.child);
    const status = await Promise.race([
      peer.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000)),
    ]);
    expect(status, peer.stderr()).toBe(1);
    expect(peer.stderr()).toMatch(
      /error: the peer stopped: nothing from the source .* for 30000 ms.*\[P2PSP_ERR_SOURCE_SILENT\]/,
    );
  });

  it('a stop asked for, and a stream that ended, exit 0', { timeout: 60_000 }, async () => {
    const { source, peer } = await sourceAndPeer();
    // The source says goodbye to its members (rule 6): the peer's stream ends.
    ChildProcesses.kill(source.child, 'SIGTERM');
    expect(await source.exited).toBe(0);
    expect(await peer.exited, peer.stderr()).toBe(0);
    expect(peer.logs().find((line) => line.msg === 'peer-exit')?.reason).toBe('stream-end');

    const second = await sourceAndPeer();
    ChildProcesses.kill(second.peer.child, 'SIGTERM');
    expect(await second.peer.exited).toBe(0);
    ChildProcesses.kill(second.source.child, 'SIGTERM');
    expect(await second.source.exited).toBe(0);
  });
});
