import { get } from 'node:http';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { until } from './helpers.js';

// What the tests against real servers and encoders share (Icecast ingest, push in, push
// out): starting the built CLI's source and peer, waiting for an Icecast mount, decoding a
// URL with ffmpeg. Every process is started through the caller's ChildProcesses, killed by
// PID after each test.

export function logsNamed(running: RunningChild, message: string): Record<string, unknown>[] {
  return running.logs().filter((line) => line.msg === message);
}

/** `p2psp source ARGS` on a free loopback port; resolves with its cluster port. */
export async function startP2pspSource(
  processes: ChildProcesses,
  ...args: string[]
): Promise<{ running: RunningChild; port: string }> {
  const running = processes.cli('source', ...args, '--address', '127.0.0.1', '--port', '0');
  await until(
    () => logsNamed(running, 'source-start').length > 0 || running.child.exitCode !== null,
    20_000,
    `p2psp source ${args.join(' ')} to start`,
  );
  const start = logsNamed(running, 'source-start')[0];
  if (!start) throw new Error(`p2psp source exited: ${running.stderr()}`);
  return { running, port: String(start.endpoint).split(':').at(-1)! };
}

/** `p2psp peer --source 127.0.0.1:PORT`; resolves with the URL it prints for players. */
export async function startP2pspPeer(
  processes: ChildProcesses,
  sourcePort: string,
): Promise<{ running: RunningChild; url: string }> {
  const running = processes.cli(
    ...['peer', '--source', `127.0.0.1:${sourcePort}`, '--address', '127.0.0.1'],
    ...['--player-port', '0'],
  );
  await until(
    () => /play: (\S+)/.test(running.stdout()) || running.child.exitCode !== null,
    20_000,
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
