import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import {
  ensureSystemTools,
  FFMPEG,
  freePort,
  ICECAST,
  type IcecastServer,
  startIcecastServer,
} from '@p2psp/testkit';
import { afterEach, beforeAll, type TestContext } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { until } from './helpers.js';

// What the tests against real servers and encoders share (Icecast ingest, push in, push
// out): starting the built CLI's source and peer, waiting for an Icecast mount, decoding a
// URL with ffmpeg. Every process is started through the caller's ChildProcesses, killed by
// PID after each test.

/** The demo MP3 the media package ships, which `p2psp source --loop` plays forever. */
export const DEMO_SAMPLE = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');

export function logsNamed(running: RunningChild, message: string): Record<string, unknown>[] {
  return running.logs().filter((line) => line.msg === message);
}

/** Waits for the first log line named `message`; throws if the process exits first. */
export async function waitForLog(
  running: RunningChild,
  message: string,
  limitMs: number,
  what: string,
): Promise<Record<string, unknown>> {
  await until(
    () => logsNamed(running, message).length > 0 || running.child.exitCode !== null,
    limitMs,
    what,
  );
  const line = logsNamed(running, message)[0];
  if (!line) throw new Error(`exited before ${what}: ${running.stderr()}`);
  return line;
}

/** `p2psp source ARGS` on a free loopback port; resolves with its cluster port. */
export async function startP2pspSource(
  processes: ChildProcesses,
  ...args: string[]
): Promise<{ running: RunningChild; port: string }> {
  const running = processes.cli('source', ...args, '--address', '127.0.0.1', '--port', '0');
  const start = await waitForLog(
    running,
    'source-start',
    20_000,
    `p2psp source ${args.join(' ')} to start`,
  );
  return { running, port: String(start.endpoint).split(':').at(-1)! };
}

/** The source password of the push-ingest tests' `p2psp source --listen-source`. */
export const PUSH_PASSWORD = 'p2psp-push-test';

/**
 * `p2psp source --listen-source 127.0.0.1:PORT/MOUNT --status-port 0 ARGS`, listening for
 * Icecast source clients; `started` resolves with the cluster port once a client streams.
 */
export async function startPushSource(processes: ChildProcesses, mount: string, ...args: string[]) {
  const port = await freePort();
  const running = processes.cli(
    ...['source', '--listen-source', `127.0.0.1:${port}/${mount}`],
    ...['--source-password', PUSH_PASSWORD, '--address', '127.0.0.1', '--port', '0'],
    ...['--status-port', '0', ...args],
  );
  await waitForLog(running, 'source-listen', 20_000, 'p2psp source to listen for source clients');
  return {
    running,
    port,
    started: async () => {
      const start = await waitForLog(running, 'source-start', 30_000, 'a client to stream');
      return String(start.endpoint).split(':').at(-1)!;
    },
    statusUrl: async () =>
      String((await waitForLog(running, 'status-listen', 20_000, 'the status port')).url),
    url: (auth = `source:${PUSH_PASSWORD}`) => `icecast://${auth}@127.0.0.1:${port}/${mount}`,
  };
}

/**
 * Writes a Liquidsoap script in `folder` that pushes `body` (a Liquidsoap source expression,
 * defined by `lines` before it) as 128 kbit/s MP3 to `port`'s `/mount`; returns its path.
 */
export function liquidsoapPushScript(
  folder: string,
  { port, mount, name, body, lines = [] }: PushScript,
): string {
  const script = join(folder, 'push.liq');
  writeFileSync(
    script,
    [
      // Liquidsoap refuses to run as root unless told; the tests run as root in CI.
      'settings.init.allow_root.set(true)',
      'settings.log.stdout.set(true)',
      'settings.log.file.set(false)',
      ...lines,
      'output.icecast(%mp3(bitrate=128), host="127.0.0.1",',
      `  port=${port}, password="${PUSH_PASSWORD}", mount="/${mount}",`,
      `  name="${name}", genre="Test", ${body})`,
      '',
    ].join('\n'),
  );
  return script;
}

interface PushScript {
  readonly port: number;
  readonly mount: string;
  readonly name: string;
  readonly body: string;
  readonly lines?: readonly string[];
}

/** `p2psp peer --source 127.0.0.1:PORT ARGS`; resolves with the URL it prints for players. */
export async function startP2pspPeer(
  processes: ChildProcesses,
  sourcePort: string,
  ...args: string[]
): Promise<{ running: RunningChild; url: string }> {
  const running = processes.cli(
    ...['peer', '--source', `127.0.0.1:${sourcePort}`, '--address', '127.0.0.1'],
    ...['--player-port', '0', ...args],
  );
  await until(
    () => /play: (\S+)/.test(running.stdout()) || running.child.exitCode !== null,
    30_000,
    'p2psp peer to print its player URL',
  );
  const url = /play: (\S+)/.exec(running.stdout())?.[1];
  if (!url) throw new Error(`p2psp peer exited: ${running.stderr()}`);
  return { running, url };
}

/** True once the mount answers 200 (its source client is connected). */
function mountIsLive(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, (response) => {
      resolve(response.statusCode === 200);
      request.destroy();
    });
    request.setTimeout(1000, () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Waits (at most ~10 s) for an Icecast mount to have a source. */
export async function waitForMount(url: string): Promise<void> {
  for (let attempt = 0; !(await mountIsLive(url)); attempt += 1) {
    if (attempt >= 100) throw new Error(`Icecast mount ${url} did not come up within ~10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Decodes a URL with ffmpeg for `seconds`; `-xerror` makes any decode error exit non-zero. */
export async function decode(processes: ChildProcesses, url: string, seconds: number) {
  const decoder = processes.spawn('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-xerror'],
    ...['-i', url, '-t', String(seconds), '-progress', 'pipe:1', '-f', 'null', '-'],
  ]);
  // Bounded: a stalled stream kills the decoder (and fails the decoded-seconds check).
  const timer = setTimeout(() => ChildProcesses.kill(decoder.child), (seconds + 30) * 1000);
  const status = await decoder.exited;
  clearTimeout(timer);
  const times = [...decoder.stdout().matchAll(/out_time_us=(\d+)/g)].map((match) =>
    Number(match[1]),
  );
  return { status, errors: decoder.stderr(), seconds: Math.max(0, ...times) / 1e6 };
}

/**
 * Decodes bytes a player received as the player read them: through a pipe. From a file,
 * ffmpeg's Ogg demuxer would read the last 64 KiB for the duration as if they belonged to
 * the first link of a chain, and fail on a chain whose last link is longer than that.
 */
export function decodeBytes(bytes: Uint8Array) {
  const result = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-xerror'],
      ...['-i', 'pipe:0', '-f', 'null', '-'],
    ],
    { input: bytes, maxBuffer: 64 << 20, timeout: 60_000 },
  );
  return { status: result.status, errors: result.stderr.toString() };
}

/**
 * The hooks of a test file against a real Icecast 2 (Debian icecast2, ffmpeg as its source
 * client or listener): installs both when missing (as root; throws in CI if still missing),
 * and after each test kills the test's processes by PID and disposes of its server.
 */
export function useIcecast() {
  const processes = new ChildProcesses();
  let missing: string[] = [];
  let icecast: IcecastServer | undefined;
  beforeAll(() => {
    missing = ensureSystemTools([ICECAST, FFMPEG]);
  }, 15 * 60_000);
  afterEach(async () => {
    processes.killAll();
    await icecast?.dispose();
    icecast = undefined;
  });
  return {
    processes,
    /** Starts an Icecast server for this test, or skips the test when a tool is missing. */
    async startIcecast(context: TestContext): Promise<IcecastServer> {
      if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
      icecast = await startIcecastServer();
      return icecast;
    },
  };
}
