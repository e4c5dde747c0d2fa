import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import {
  DEMO_SAMPLE,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
  waitForLog,
} from './real-servers.js';

// Every command exits non-zero on failure, naming the cause, so that a supervisor that
// restarts on failure restarts it; a stop asked for, or a stream that ended, exits 0.
// Real processes of the built bundle on loopback, killed by PID in afterAll.
const processes = new ChildProcesses();
afterAll(() => processes.killAll());

async function sourceAndPeer(...peerArgs: string[]) {
  const source = await startP2pspSource(processes, '--input', DEMO_SAMPLE, '--loop');
  const peer = await startP2pspPeer(processes, source.port, ...peerArgs);
  return { source: source.running, peer: peer.running };
}

describe('exit status of p2psp source and peer (real processes)', () => {
  it('a peer whose source vanished tries to join again, then exits 1 naming the silence and the failed tries', {
    timeout: 90_000,
  }, async () => {
    const { source, peer } = await sourceAndPeer('--rejoin-timeout', '5');
    // Killed only once the peer is a member, so what it reports is the silence, not a join.
    await waitForLog(peer, 'join-accept', 30_000, 'the peer to join');
    // No goodbye: the peer hears nothing more (rule 6's silence, 15 s for a peer that
    // rejoins), then joins again with backoff for --rejoin-timeout (5 s), refused each time.
    ChildProcesses.kill(source.child);
    const status = await Promise.race([
      peer.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000)),
    ]);
    expect(status, peer.stderr()).toBe(1);
    expect(peer.stderr(), peer.stderr()).toMatch(
      /error: the peer stopped: nothing from the source .* for 15000 ms.*; rejoining failed: \d+ attempts in \d+ ms \(last: P2PSP_ERR_JOIN_FAILED: .*\) \[P2PSP_ERR_SOURCE_SILENT\]/,
    );
    // It did try, more than once, each attempt logged with the cause.
    const waits = logsNamed(peer, 'rejoin-wait');
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[0]).toMatchObject({ code: 'P2PSP_ERR_SOURCE_SILENT', attempt: 1 });
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
