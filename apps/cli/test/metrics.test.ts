import { spawnSync } from 'node:child_process';
import { ensureSystemTools, PROMTOOL } from '@p2psp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { pollUntil, sleep } from './helpers.js';
import { DEMO_SAMPLE, startP2pspPeer, startP2pspSource, waitForLog } from './real-servers.js';

// Prometheus /metrics on a loopback cluster of the built CLI: the source's status port and
// each peer's player port. promtool (Debian's prometheus package) lints the exposition,
// the counters grow while the stream runs, and a SIGKILLed peer leaves the members gauge
// once its silence passes --member-timeout (rule 6).
const CREDENTIAL = 'metrics-monitor-secret';
const MEMBER_TIMEOUT_SECONDS = 6;

beforeAll(() => {
  // Installs promtool when missing (as root); throws in CI if it is still missing.
  expect(ensureSystemTools([PROMTOOL])).toEqual([]);
}, 15 * 60_000);

const processes = new ChildProcesses();
afterAll(() => processes.killAll());

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series, e.g. `p2psp_members{role="member"}`. */
function seriesValue(exposition: string, series: string): number {
  const line = exposition.split('\n').find((text) => text.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in:\n${exposition}`);
  return Number(line.slice(series.length + 1));
}

/** Scrapes until `ready` holds or `limitMs` passes; returns the last exposition. */
const scrapeUntil = (url: string, ready: (exposition: string) => boolean, limitMs: number) =>
  pollUntil(() => scrape(url), ready, limitMs);

function promtoolProblems(exposition: string): string {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition });
  return `${result.stdout.toString()}${result.stderr.toString()}`.trim();
}

describe('/metrics on the source and the peers (processes of the built CLI)', () => {
  it('promtool accepts them, counters grow, a killed peer leaves the gauge', {
    timeout: 90_000,
  }, async () => {
    const source = await startP2pspSource(
      processes,
      ...['--input', DEMO_SAMPLE, '--loop', '--monitor-credential', CREDENTIAL],
      ...['--member-timeout', String(MEMBER_TIMEOUT_SECONDS), '--status-port', '0'],
    );
    const statusUrl = String(
      (await waitForLog(source.running, 'status-listen', 20_000, 'the status port')).url,
    );
    const sourceMetricsUrl = statusUrl.replace(/\/status$/, '/metrics');
    const startPeer = (...extra: string[]) => startP2pspPeer(processes, source.port, ...extra);
    const peers = [await startPeer('--monitor', '--credential', CREDENTIAL)];
    peers.push(...(await Promise.all([startPeer(), startPeer()])));
    const playerUrls = peers.map((peer) => peer.url);
    const peerMetricsUrl = playerUrls[1]!.replace(/\/stream$/, '/metrics');

    const sourceMetrics = await scrapeUntil(
      sourceMetricsUrl,
      (text) => seriesValue(text, 'p2psp_members{role="member"}') === 2,
      10_000,
    );
    expect(seriesValue(sourceMetrics, 'p2psp_members{role="monitor"}')).toBe(1);
    expect(seriesValue(sourceMetrics, 'p2psp_members{role="member"}')).toBe(2);
    expect(seriesValue(sourceMetrics, 'p2psp_join_duration_seconds_count')).toBe(3);
    const peerMetrics = await scrape(peerMetricsUrl);
    expect(seriesValue(peerMetrics, 'p2psp_join_duration_seconds_count')).toBe(1);
    expect(sourceMetrics).toMatch(/^process_cpu_seconds_total /m);
    expect(peerMetrics).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(promtoolProblems(sourceMetrics)).toBe('');
    expect(promtoolProblems(peerMetrics)).toBe('');

    // The stream runs: the source cuts and sends, the peer receives, relays and plays.
    await sleep(2_000);
    const laterSource = await scrape(sourceMetricsUrl);
    const laterPeer = await scrape(peerMetricsUrl);
    for (const series of ['p2psp_chunks_sent_total', 'p2psp_ingest_bytes_total']) {
      expect(seriesValue(laterSource, series)).toBeGreaterThan(seriesValue(sourceMetrics, series));
    }
    expect(seriesValue(laterSource, 'p2psp_uploaded_bytes_total{kind="datagram"}')).toBeGreaterThan(
      seriesValue(sourceMetrics, 'p2psp_uploaded_bytes_total{kind="datagram"}'),
    );
    for (const series of [
      'p2psp_chunks_received_total{from="source"}',
      'p2psp_chunks_received_total{from="peer"}',
      'p2psp_chunks_relayed_total',
      'p2psp_chunks_played_total',
    ]) {
      expect(seriesValue(laterPeer, series), series).toBeGreaterThan(
        seriesValue(peerMetrics, series),
      );
    }

    // kill -9: no goodbye; the source drops the member after its silence (rule 6).
    peers[2]!.running.child.kill('SIGKILL');
    const killedAt = performance.now();
    const final = await scrapeUntil(
      sourceMetricsUrl,
      (text) => seriesValue(text, 'p2psp_members{role="member"}') === 1,
      (MEMBER_TIMEOUT_SECONDS + 6) * 1000,
    );
    expect(seriesValue(final, 'p2psp_members{role="member"}')).toBe(1);
    expect(performance.now() - killedAt).toBeLessThan((MEMBER_TIMEOUT_SECONDS + 6) * 1000);
    expect(seriesValue(final, 'p2psp_members_left_total')).toBe(1);
    expect(promtoolProblems(final)).toBe('');
  });
});
