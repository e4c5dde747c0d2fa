import type { IcecastServer } from '@p2psp/testkit';
import { describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { getJson, until } from './helpers.js';
import {
  DEMO_SAMPLE,
  decode,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
  useIcecast,
  waitForMount,
} from './real-servers.js';

// Push out to a real Icecast 2 (Debian icecast2): `p2psp bridge` takes the stream from a
// `p2psp peer` player URL and pushes it to an Icecast mount as a source client; Icecast's own
// listener (ffmpeg) decodes it. Then Icecast restarts and the bridge must come back by itself.

const { processes, startIcecast } = useIcecast();

/** Icecast's status page as JSON (`icestats.source` is one object or a list). */
async function icecastSources(server: IcecastServer): Promise<Record<string, unknown>[]> {
  const status = await getJson(`http://127.0.0.1:${server.port}/status-json.xsl`);
  const source = (status as { icestats: { source?: unknown } }).icestats.source;
  return (Array.isArray(source) ? source : source ? [source] : []) as Record<string, unknown>[];
}

/** A `p2psp bridge` that must fail at start: its exit status and stderr. */
async function failedBridge(
  ...args: string[]
): Promise<{ status: number | string; stderr: string }> {
  const bridge = processes.cli('bridge', ...args);
  const timer = setTimeout(() => ChildProcesses.kill(bridge.child), 20_000);
  const status = await bridge.exited;
  clearTimeout(timer);
  return { status, stderr: bridge.stderr() };
}

describe('push out to a real Icecast 2 mount (p2psp bridge, icecast2, ffmpeg as listener)', () => {
  it("Icecast's listeners decode the cluster's stream, and the bridge survives an Icecast restart", {
    timeout: 150_000,
  }, async (context) => {
    const server = await startIcecast(context);
    const source = await startP2pspSource(processes, '--input', DEMO_SAMPLE, '--loop');
    const peer = await startP2pspPeer(processes, source.port);
    const mount = server.mountUrl('relay.mp3');
    const bridge: RunningChild = processes.cli(
      ...['bridge', '--from', peer.url, '--to', server.sourceUrl('relay.mp3')],
      ...['--name', 'p2psp relay', '--genre', 'Test'],
    );
    await until(
      () => logsNamed(bridge, 'bridge-connect').length > 0 || bridge.child.exitCode !== null,
      20_000,
      'the bridge to connect',
    );
    expect(logsNamed(bridge, 'bridge-connect')[0], bridge.stderr()).toMatchObject({
      method: 'PUT',
      contentType: 'audio/mpeg',
    });
    await waitForMount(mount);
    const listened = await decode(processes, mount, 8);
    expect(listened.errors, 'decoding the Icecast mount').toBe('');
    expect(listened.status).toBe(0);
    expect(listened.seconds).toBeGreaterThanOrEqual(8 - 0.1);
    const [relay] = (await icecastSources(server)).filter((entry) =>
      String(entry.listenurl).endsWith('/relay.mp3'),
    );
    expect(relay, 'the mount in status-json.xsl').toMatchObject({
      server_name: 'p2psp relay',
      genre: 'Test',
      server_type: 'audio/mpeg',
    });

    // Refusals, named, while the first bridge keeps the mount.
    const inUse = await failedBridge('--from', peer.url, '--to', server.sourceUrl('relay.mp3'));
    expect(inUse.status).toBe(1);
    expect(inUse.stderr).toContain('[P2PSP_ERR_ICECAST_MOUNT_IN_USE]');
    const wrongPassword = server
      .sourceUrl('other.mp3')
      .replace(encodeURIComponent(server.sourcePassword), 'wrong');
    const refused = await failedBridge('--from', peer.url, '--to', wrongPassword);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('[P2PSP_ERR_ICECAST_AUTH]');
    expect(refused.stderr).not.toContain('wrong');
    expect(bridge.child.exitCode).toBeNull();
    expect((await decode(processes, mount, 2)).errors).toBe('');

    // Icecast restarts: the bridge retries with backoff and pushes again once it is back.
    await server.stop();
    await until(
      () => logsNamed(bridge, 'bridge-reconnect-fail').length >= 2,
      30_000,
      'two failed reconnects while Icecast is down',
    );
    expect(logsNamed(bridge, 'bridge-reconnect-fail')[0]).toMatchObject({
      code: 'P2PSP_ERR_ICECAST_UNREACHABLE',
    });
    await server.start();
    await until(
      () => logsNamed(bridge, 'bridge-connect').length >= 2,
      30_000,
      'the bridge to reconnect once Icecast is back',
    );
    await waitForMount(mount);
    const after = await decode(processes, mount, 5);
    expect(after.errors, 'decoding after the Icecast restart').toBe('');
    expect(after.status).toBe(0);
    expect(after.seconds).toBeGreaterThanOrEqual(5 - 0.1);
    const delays = logsNamed(bridge, 'bridge-reconnect').map((line) => Number(line.delayMs));
    expect(Math.max(...delays), `backoff delays ${delays.join(', ')} ms`).toBeLessThanOrEqual(5000);
    for (const running of [source.running, peer.running, bridge]) {
      expect(running.child.exitCode).toBeNull();
    }
  });

  it('refuses a --to that is not a URL before any lookup, naming the form', async () => {
    const bad = await failedBridge(
      ...['--from', 'http://127.0.0.1:9/stream', '--to', 'radio.invalid:8000/live.mp3'],
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /icecast:\/\/source:PASSWORD@HOST:PORT\/MOUNT \[P2PSP_ERR_BAD_OPTION\]/,
    );
  });
});
