import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { fetchJson, waitFor } from './helpers.js';
import { DEMO_SAMPLE, startP2pspPeer, startP2pspSource } from './real-servers.js';

// Trees of clusters on loopback, processes of the built CLI: a root source that takes one
// member and names a child source (`--child`); the second peer is redirected to the child,
// plays from it, and its /status shows the path (docs/trees.md).

interface PeerStatus {
  chunksPlayed: number;
  path: string[];
}

const processes = new ChildProcesses();
afterAll(() => processes.killAll());

describe('redirects (loopback)', () => {
  it('a full source sends the next peer to its child source', { timeout: 30_000 }, async () => {
    const child = await startP2pspSource(processes, '--input', DEMO_SAMPLE, '--loop');
    const root = await startP2pspSource(
      processes,
      ...['--input', DEMO_SAMPLE, '--loop', '--max-members', '1'],
      ...['--child', `127.0.0.1:${child.port}`],
    );
    const statusOf = (url: string) => fetchJson<PeerStatus>(url.replace(/\/stream$/, '/status'));
    const first = await startP2pspPeer(processes, root.port);
    await waitFor(async () => (await statusOf(first.url)).chunksPlayed > 0, 15_000, 'a member');
    const second = await startP2pspPeer(processes, root.port);
    await waitFor(async () => (await statusOf(second.url)).chunksPlayed > 0, 15_000, 'playing');
    expect((await statusOf(first.url)).path).toEqual([`127.0.0.1:${root.port}`]);
    expect((await statusOf(second.url)).path).toEqual([
      `127.0.0.1:${root.port}`,
      `127.0.0.1:${child.port}`,
    ]);
  });
});
