import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium driven by playwright-core; `close()` ends it by PID and removes its profile. */
export interface HeadlessChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** How long Chromium has to print its DevTools endpoint, and to exit on SIGTERM. */
const START_LIMIT_MS = 30_000;
const STOP_LIMIT_MS = 5_000;

/**
 * Starts Debian's Chromium (/usr/bin/chromium, see CHROMIUM) headless with a fresh profile
 * and connects playwright-core to it over the DevTools protocol (loopback only). Pages may
 * start sound without a click. The caller closes it, even when its test failed.
 */
export async function launchChromium(): Promise<HeadlessChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'p2psp-chromium-'));
  const child = spawn(
    '/usr/bin/chromium',
    [
      ...['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
      ...['--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // The Chrome autoplay policy would block sound started without a user gesture.
      '--autoplay-policy=no-user-gesture-required',
      `--user-data-dir=${profile}`,
      // Port 0: Chromium picks one and prints the endpoint on stderr.
      ...['--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'],
      'about:blank',
    ],
    // Its temp files (shared memory, crash reports) go in the profile, removed on close.
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: profile } },
  );
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async () => {
    // SIGTERM lets it stop its helper processes and flush its profile; SIGKILL after 5 s.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS);
    await exited;
    clearTimeout(timer);
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  let stderr = '';
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Chromium printed no DevTools endpoint in 30 s: ${stderr}`)),
        START_LIMIT_MS,
      );
      child.stderr.on('data', (bytes: Buffer) => {
        stderr += bytes.toString();
        const url = /DevTools listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      child.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`chromium exited: ${stderr}`));
      });
    });
    const browser = await chromium.connectOverCDP(endpoint);
    return {
      browser,
      async close() {
        // For a CDP connection, close() disconnects playwright-core; Chromium goes by PID.
        await browser.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
