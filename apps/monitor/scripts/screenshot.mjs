#!/usr/bin/env node
// Saves a screenshot of the dashboard as docs/monitor-dashboard.png: runs `p2psp demo` (a
// source, its monitor and 3 peers on loopback, from the built CLI), opens the dashboard in
// Debian's headless Chromium, waits until every chart has a minute of points, and stops
// both. Build first: pnpm turbo run build --filter=p2psp...
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, ensureSystemTools, launchChromium } from '@p2psp/testkit';

const cli = fileURLToPath(new URL('../../cli/dist/p2psp.mjs', import.meta.url));
const output = fileURLToPath(new URL('../../../docs/monitor-dashboard.png', import.meta.url));
/** Points on each chart before the shot (one a second). */
const POINTS = 60;

const missing = ensureSystemTools([CHROMIUM]);
if (missing.length > 0) {
  process.stderr.write(`missing ${missing.join(', ')}\n`);
  process.exit(1);
}
const demo = spawn(
  process.execPath,
  [cli, 'demo', '--peers', '3', '--player-port', '0', '--monitor-port', '0'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let chromium;
try {
  const dashboard = await new Promise((resolve, reject) => {
    let stdout = '';
    demo.stdout.on('data', (bytes) => {
      stdout += bytes.toString();
      const url = /^Dashboard: (http\S+)/m.exec(stdout)?.[1];
      if (url) resolve(url);
    });
    demo.on('close', (status) => reject(new Error(`p2psp demo exited (${status})`)));
  });
  chromium = await launchChromium();
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(dashboard);
  process.stdout.write(`${dashboard}: waiting for ${POINTS} points on each chart\n`);
  await page.waitForFunction(
    (points) =>
      [...document.querySelectorAll('[id^="chart-"]')].every(
        (chart) => Number(chart.dataset.points) >= points,
      ),
    POINTS,
    { timeout: (POINTS + 30) * 1000 },
  );
  await page.screenshot({ path: output, fullPage: true });
  process.stdout.write(`saved ${output}\n`);
} finally {
  await chromium?.close();
  // SIGINT: the demo's peers say goodbye, then it exits; SIGKILL if it hangs.
  demo.kill('SIGINT');
  const timer = setTimeout(() => demo.kill('SIGKILL'), 5_000);
  await new Promise((resolve) => (demo.exitCode === null ? demo.on('close', resolve) : resolve()));
  clearTimeout(timer);
}
