import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHROMIUM, ensureSystemTools, type HeadlessChromium, launchChromium } from '@p2psp/testkit';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { sleep, until } from './helpers.js';

// Issue 3: a peer's player port must be "playable by ffplay, VLC and a browser". Here the
// browser is real: Debian's headless Chromium, driven over the DevTools protocol by
// playwright-core, plays `p2psp demo`'s streams in an <audio> element. It proves the peer's
// HTTP answer (status, Content-Type, an endless body, no Range support) suits a browser's
// media stack, for a tab that opens at once and for one that joins mid-stream.

let missing: string[] = [];
beforeAll(() => {
  // Installs chromium when missing (as root); throws in CI if it is still missing.
  missing = ensureSystemTools([CHROMIUM]);
}, 15 * 60_000);

const processes = new ChildProcesses();
let chromium: HeadlessChromium | undefined;
let pageServer: Server | undefined;
afterEach(async () => {
  // Chromium by PID (its profile removed), then the demo, also by PID, even when the test
  // failed.
  await chromium?.close();
  chromium = undefined;
  processes.killAll();
  pageServer?.closeAllConnections();
  pageServer?.close();
  pageServer = undefined;
});

/** A tiny page with an autoplaying <audio>, served over HTTP like a real site would be. */
async function startPageServer(): Promise<string> {
  const server = createServer((request, response) => {
    const stream = new URL(request.url ?? '/', 'http://localhost').searchParams.get('stream');
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html>
<title>p2psp player</title>
<audio id="player" src="${encodeURI(stream ?? '')}" autoplay></audio>
<script>
  const audio = document.getElementById('player');
  window.playerErrors = [];
  audio.addEventListener('error', () => {
    const error = audio.error;
    window.playerErrors.push(error ? error.code + ' ' + error.message : 'error');
  });
</script>`);
  });
  pageServer = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

interface Playback {
  readyState: number;
  currentTime: number;
  paused: boolean;
  errors: string[];
}

/** What the page's <audio> reports (HTMLMediaElement; this package has no DOM typings). */
interface PageGlobals {
  document: { getElementById(id: string): Omit<Playback, 'errors'> };
  playerErrors: string[];
}

function playback(page: Page): Promise<Playback> {
  return page.evaluate(() => {
    const globals = globalThis as unknown as PageGlobals;
    const audio = globals.document.getElementById('player');
    return {
      readyState: audio.readyState,
      currentTime: audio.currentTime,
      paused: audio.paused,
      errors: globals.playerErrors,
    };
  });
}

/** Polls a tab until its audio has played past `seconds` (bounded: 30 s of waiting). */
async function playsPast(page: Page, seconds: number, what: string): Promise<Playback> {
  let last: Playback | undefined;
  for (let attempt = 0; attempt < 150; attempt += 1) {
    last = await playback(page);
    if (last.errors.length > 0) throw new Error(`${what}: <audio> error ${last.errors.join('; ')}`);
    if (last.currentTime > seconds) return last;
    await sleep(200);
  }
  throw new Error(`${what}: <audio> did not play past ${seconds} s: ${JSON.stringify(last)}`);
}

describe('a browser plays the peers (Debian Chromium, headless, playwright-core)', () => {
  it('an <audio> element plays a peer of `p2psp demo`, and a tab opened mid-stream plays too', {
    timeout: 120_000,
  }, async (context) => {
    if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
    // The demo as a user runs it: the built CLI, a source looping the shipped MP3, 2 peers.
    const demo = processes.cli('demo', '--peers', '2', '--player-port', '0');
    const streamUrls = () =>
      [...demo.stdout().matchAll(/^\s+(http:\S+\/stream)$/gm)].map((m) => m[1]!);
    await until(
      () => streamUrls().length === 2 || demo.child.exitCode !== null,
      20_000,
      'p2psp demo to print its player URLs',
    );
    const [firstPeer, secondPeer] = streamUrls();
    if (!firstPeer || !secondPeer) throw new Error(`p2psp demo exited: ${demo.stderr()}`);

    const site = await startPageServer();
    chromium = await launchChromium();
    const browser = chromium.browser;
    const browserContext = browser.contexts()[0] ?? (await browser.newContext());
    const firstTab = await browserContext.newPage();
    await firstTab.goto(`${site}?stream=${encodeURIComponent(firstPeer)}`);
    const first = await playsPast(firstTab, 3, 'first tab');
    // HAVE_FUTURE_DATA (3) or better: the element has data ahead of the play position.
    expect(first.readyState).toBeGreaterThanOrEqual(3);
    expect(first.paused).toBe(false);

    // A tab that joins mid-stream: on the other peer, and a second player on the first peer
    // (which starts it from the next MP3 frame, not from the stream's first byte).
    const lateTabs = [secondPeer, firstPeer].map(async (stream) => {
      const tab = await browserContext.newPage();
      await tab.goto(`${site}?stream=${encodeURIComponent(stream)}`);
      return tab;
    });
    const [otherPeerTab, samePeerTab] = await Promise.all(lateTabs);
    for (const [tab, what] of [
      [otherPeerTab!, 'late tab on the second peer'],
      [samePeerTab!, 'late tab on the first peer'],
    ] as const) {
      const late = await playsPast(tab, 3, what);
      expect(late.readyState, what).toBeGreaterThanOrEqual(3);
      expect(late.paused, what).toBe(false);
    }
    // The first tab kept playing while the others joined.
    const still = await playsPast(firstTab, first.currentTime + 2, 'first tab, later');
    expect(still.errors).toEqual([]);
    expect(demo.child.exitCode).toBeNull();
  });
});
