import { join } from 'node:path';
import { CHROMIUM, ensureSystemTools, type HeadlessChromium, launchChromium } from '@p2psp/testkit';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { sleep, until } from './helpers.js';

// The monitor's dashboard in a real browser (Debian's headless Chromium, playwright-core) on
// a cluster of processes of the built CLI: a source with a status port and a monitor
// credential, `p2psp monitor`, and peers. The page counts the members, its charts advance, a
// SIGKILLed peer leaves the graph and shows in the log within the member timeout (rule 6), a
// new peer appears, the <audio> plays, and a restarted source is reconnected to, on the page.
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const CREDENTIAL = 'dashboard-monitor-secret';
/** The shortest the source accepts (peers report every 2 s). */
const MEMBER_TIMEOUT_SECONDS = 6;
const CHARTS = ['buffer', 'loss', 'bitrate', 'upload', 'offload'];

let missing: string[] = [];
beforeAll(() => {
  // Installs chromium when missing (as root); throws in CI if it is still missing.
  missing = ensureSystemTools([CHROMIUM]);
}, 15 * 60_000);

const processes = new ChildProcesses();
let chromium: HeadlessChromium | undefined;
afterEach(async () => {
  // Chromium by PID (its profile removed), then the cluster by PID, even when a test failed.
  await chromium?.close();
  chromium = undefined;
  processes.killAll();
});

interface Source {
  readonly process: RunningChild;
  readonly port: string;
  readonly statusUrl: string;
}

/** `p2psp source` looping the sample; port 0 picks free ones, the log says which. */
async function startSource(port = '0', statusPort = '0'): Promise<Source> {
  const source = processes.cli(
    'source',
    ...['--input', demoSample, '--loop', '--address', '127.0.0.1', '--port', port],
    ...['--monitor-credential', CREDENTIAL, '--member-timeout', String(MEMBER_TIMEOUT_SECONDS)],
    ...['--status-port', statusPort],
  );
  await until(
    () =>
      source.logs().some((line) => line.msg === 'status-listen') || source.child.exitCode !== null,
    20_000,
    'the source and its status port',
  );
  const start = source.logs().find((line) => line.msg === 'source-start');
  const status = source.logs().find((line) => line.msg === 'status-listen');
  if (!start || !status) throw new Error(`p2psp source exited: ${source.stderr()}`);
  return {
    process: source,
    port: String(start.endpoint).split(':').at(-1)!,
    statusUrl: String(status.url),
  };
}

/** A `p2psp peer`; resolves with its member id once it plays. */
async function startPeer(source: Source): Promise<{ process: RunningChild; memberId: number }> {
  const peer = processes.cli(
    'peer',
    ...['--source', `127.0.0.1:${source.port}`, '--address', '127.0.0.1', '--player-port', '0'],
  );
  await until(() => /play: http/.test(peer.stdout()), 30_000, 'the peer to join');
  const accept = peer.logs().find((line) => line.msg === 'join-accept');
  return { process: peer, memberId: Number(accept?.memberId) };
}

const text = (page: Page, selector: string) => page.locator(selector).textContent();
const chartPoints = (page: Page) =>
  Promise.all(
    CHARTS.map(async (chart) =>
      Number((await page.locator(`#chart-${chart}`).getAttribute('data-points')) ?? 0),
    ),
  );

/** Polls the page until `check` holds; the message says what was awaited. */
async function pageUntil(check: () => Promise<boolean>, limitMs: number, what: string) {
  const deadline = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** What the page's <audio> reports (this package has no DOM typings). */
function audioTime(page: Page): Promise<number> {
  return page
    .locator('#player')
    .evaluate((audio) => (audio as unknown as { currentTime: number }).currentTime);
}

describe('the monitor dashboard in a browser (Debian Chromium, headless, playwright-core)', () => {
  it('counts the members, charts advance, a killed peer leaves, a new one comes, audio plays, a restarted source reconnects', {
    timeout: 150_000,
  }, async (context) => {
    if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
    const source = await startSource();
    const monitor = processes.cli(
      'monitor',
      ...['--source', `127.0.0.1:${source.port}`, '--status', source.statusUrl],
      ...['--port', '0', '--credential', CREDENTIAL],
    );
    await until(
      () => /^dashboard: http/m.test(monitor.stdout()) || monitor.child.exitCode !== null,
      30_000,
      'p2psp monitor to print its dashboard URL',
    );
    const dashboard = /^dashboard: (http\S+)/m.exec(monitor.stdout())?.[1];
    if (!dashboard) throw new Error(`p2psp monitor exited: ${monitor.stderr()}`);
    // After the monitor, so the first joiner rule does not make a peer a monitor.
    const peers = [await startPeer(source), await startPeer(source)];

    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    await page.goto(dashboard);
    await pageUntil(
      async () => (await text(page, '#member-count')) === '3',
      10_000,
      'the page to count the monitor and 2 peers',
    );
    expect(await page.locator('.member-node[data-member-id]').count()).toBe(3);
    expect(await page.locator('.member-node.monitor').count()).toBe(1);
    // The monitor is a node too: its Prometheus metrics on the dashboard's port.
    const metrics = await fetch(new URL('metrics', dashboard));
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/^p2psp_members\{role="neighbour"\} 2$/m);

    // Every chart gains points while the stream runs (one a second).
    await pageUntil(
      async () => (await chartPoints(page)).every((points) => points > 0),
      10_000,
      'a point on every chart',
    );
    const before = await chartPoints(page);
    await sleep(3_000);
    const after = await chartPoints(page);
    CHARTS.forEach((chart, index) => {
      expect(after[index], chart).toBeGreaterThan(before[index]!);
    });

    // kill -9: no goodbye; the source drops it after its silence, the page follows.
    const killed = peers[1]!;
    const killedNode = page.locator(`.member-node[data-member-id="${killed.memberId}"]`);
    expect(await killedNode.count()).toBe(1);
    killed.process.child.kill('SIGKILL');
    const killedAt = performance.now();
    await pageUntil(
      async () =>
        (await killedNode.count()) === 0 &&
        (await page.locator('li[data-event="peer-leave"]').count()) > 0,
      (MEMBER_TIMEOUT_SECONDS + 6) * 1000,
      'the killed peer to leave the graph and show in the log',
    );
    expect(performance.now() - killedAt).toBeLessThan((MEMBER_TIMEOUT_SECONDS + 6) * 1000);
    expect(await text(page, 'li[data-event="peer-leave"]')).toContain(
      `memberId=${killed.memberId}`,
    );
    expect(await text(page, '#member-count')).toBe('2');

    // A new peer appears.
    const newcomer = await startPeer(source);
    await pageUntil(
      async () =>
        (await page.locator(`.member-node[data-member-id="${newcomer.memberId}"]`).count()) === 1 &&
        (await text(page, '#member-count')) === '3',
      10_000,
      'the new peer on the graph',
    );

    // The <audio> plays the monitor's stream.
    const played = await audioTime(page);
    await pageUntil(
      async () => (await audioTime(page)) > played + 2,
      20_000,
      'the <audio> element to play',
    );

    // The source restarts on the same ports: the page says it lost it, then reconnected.
    source.process.child.kill('SIGKILL');
    await pageUntil(
      async () => /unreachable/.test((await text(page, '#connection')) ?? ''),
      10_000,
      'the page to say the source is unreachable',
    );
    const statusPort = new URL(source.statusUrl).port;
    await startSource(source.port, statusPort);
    await pageUntil(
      async () =>
        (await text(page, '#connection')) === 'reconnected to the source' &&
        (await page.locator('li[data-event="source-reconnect"]').count()) === 1,
      20_000,
      'the page to say it reconnected',
    );
    // Its charts advance again once the monitor has rejoined the new source.
    await pageUntil(
      async () => (await page.locator('li[data-event="monitor-join"]').count()) === 1,
      30_000,
      'the monitor to rejoin the restarted source',
    );
    const again = await chartPoints(page);
    await sleep(3_000);
    expect((await chartPoints(page))[CHARTS.indexOf('bitrate')]).toBeGreaterThan(
      again[CHARTS.indexOf('bitrate')]!,
    );
    expect(monitor.child.exitCode).toBeNull();
  });

  it('p2psp monitor with a wrong credential exits non-zero, naming the fix', {
    timeout: 60_000,
  }, async () => {
    const source = await startSource();
    const monitor = processes.cli(
      'monitor',
      ...['--source', `127.0.0.1:${source.port}`, '--status', source.statusUrl],
      ...['--port', '0', '--credential', 'not-the-secret'],
    );
    expect(await monitor.exited).toBe(1);
    expect(monitor.stdout()).not.toMatch(/dashboard:/);
    expect(monitor.stderr()).toMatch(
      /^error: the source at 127\.0\.0\.1:\d+ refused the join \(join-refused: bad-credential: wrong monitor credential; pass the one the source was started with\) \[P2PSP_ERR_JOIN_FAILED\]$/m,
    );
  });
});
