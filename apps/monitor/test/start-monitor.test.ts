import { join } from 'node:path';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { afterEach, describe, expect, it } from 'vitest';
import { type MonitorHandle, startMonitor } from '../src/index.js';

// startMonitor in-process against a real source on loopback: the page, its event stream and
// the monitor peer's metrics; bad requests answered, a wrong credential refused. The page
// in a browser, on a cluster of processes: apps/cli/test/monitor-dashboard.test.ts.
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const credential = new TextEncoder().encode('monitor-unit-secret');

let source: SourceHandle | undefined;
let monitor: MonitorHandle | undefined;
afterEach(async () => {
  await monitor?.stop();
  await source?.stop();
  monitor = undefined;
  source = undefined;
});

async function start(): Promise<MonitorHandle> {
  source = await startSource({
    input: demoSample,
    loop: true,
    address: '127.0.0.1',
    port: 0,
    core: { monitorCredential: credential },
  });
  return startMonitor({
    source: `127.0.0.1:${source.endpoint.port}`,
    // No status port here: the snapshots say the source's status is down.
    statusUrl: 'http://127.0.0.1:9/status',
    credential,
    port: 0,
    assetsDirectory: join(import.meta.dirname, '../src/dashboard'),
  });
}

describe('startMonitor', () => {
  it('serves the page, snapshots over SSE and the monitor peer metrics; answers bad requests', {
    timeout: 30_000,
  }, async () => {
    monitor = await start();
    const page = await fetch(monitor.url);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('id="member-count"');

    const updates = await fetch(new URL('updates', monitor.url));
    expect(updates.headers.get('content-type')).toBe('text/event-stream');
    const reader = updates.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    const snapshot = JSON.parse(/^event: snapshot\ndata: (.+)$/m.exec(text)![1]!);
    expect(snapshot.source).toBe('down');
    expect(snapshot.monitor.role).toBe('monitor');
    await reader.cancel();

    const metrics = await fetch(new URL('metrics', monitor.url));
    expect(await metrics.text()).toMatch(/^p2psp_members\{role="self"\} 1$/m);

    for (const path of ['missing.js', '..%2Fpackage.json', 'dashboard.ts']) {
      expect((await fetch(new URL(path, monitor.url))).status, path).toBe(404);
    }
    expect((await fetch(monitor.url, { method: 'POST' })).status).toBe(405);
  });

  it('rejects a wrong credential with the source refusal', { timeout: 30_000 }, async () => {
    monitor = await start();
    await expect(
      startMonitor({
        source: `127.0.0.1:${source!.endpoint.port}`,
        credential: new TextEncoder().encode('wrong'),
        port: 0,
      }),
    ).rejects.toMatchObject({
      code: 'P2PSP_ERR_JOIN_FAILED',
      message: expect.stringMatching(/refused the join \(join-refused: bad-credential/),
    });
  });
});
