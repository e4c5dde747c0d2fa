import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on `address`: bind port 0, note the port, release it. */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, address, resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface IcecastServerOptions {
  /** Port on 127.0.0.1 (default: a free one). A restart keeps the port. */
  readonly port?: number;
  /** Password of the `source` user that feeds mounts (default: a fixed test secret). */
  readonly sourcePassword?: string;
  /** Icecast's `<clients>` limit, listeners and sources together (default 32). */
  readonly maxClients?: number;
}

export interface IcecastServer {
  readonly port: number;
  readonly sourcePassword: string;
  /** PID of the running icecast2 process, undefined while stopped. */
  readonly pid: number | undefined;
  /** Where listeners open a mount: `http://127.0.0.1:PORT/live.mp3`. */
  mountUrl(mount: string): string;
  /** Where a source client (ffmpeg `-f mp3 URL`) pushes a mount: `icecast://source:...`. */
  sourceUrl(mount: string): string;
  /** Kills the server by PID (SIGTERM, then SIGKILL after 3 s); the temp dir stays. */
  stop(): Promise<void>;
  /** Starts it again with the same configuration and port. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir (config, logs, pid file). */
  dispose(): Promise<void>;
  /** Icecast's own error log, for failure messages. */
  errorLog(): string;
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** One GET of Icecast's status page; true on HTTP 200. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(`http://127.0.0.1:${port}/status-json.xsl`, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.setTimeout(1000, () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * A real Icecast 2 server (Debian package icecast2) on 127.0.0.1, configured in a fresh temp
 * dir. Icecast refuses to run as root, so as root the config drops privileges to
 * nobody:nogroup after binding (<security><changeowner>), and the temp dir (its logs and pid
 * file) is made writable for that user. Resolves once the server answers HTTP (at most 10 s).
 */
export async function startIcecastServer(
  options: IcecastServerOptions = {},
): Promise<IcecastServer> {
  const port = options.port ?? (await freePort());
  const sourcePassword = options.sourcePassword ?? 'p2psp-test-source';
  const directory = mkdtempSync(join(tmpdir(), 'p2psp-icecast-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(directory, 0o777);
  const configPath = join(directory, 'icecast.xml');
  writeFileSync(
    configPath,
    [
      '<icecast>',
      '  <location>loopback</location>',
      '  <admin>test@localhost</admin>',
      // source-timeout: a vanished source client frees its mount within 10 s.
      `  <limits><clients>${options.maxClients ?? 32}</clients><sources>4</sources><source-timeout>10</source-timeout>`,
      '    <queue-size>524288</queue-size><burst-size>65535</burst-size></limits>',
      '  <authentication>',
      `    <source-password>${xmlEscape(sourcePassword)}</source-password>`,
      `    <admin-user>admin</admin-user><admin-password>${xmlEscape(sourcePassword)}-admin</admin-password>`,
      '  </authentication>',
      '  <hostname>127.0.0.1</hostname>',
      `  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>`,
      '  <fileserve>0</fileserve>',
      `  <paths><basedir>${directory}</basedir><logdir>${directory}</logdir>`,
      `    <pidfile>${join(directory, 'icecast.pid')}</pidfile>`,
      '    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>',
      '  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>',
      '  <security><chroot>0</chroot>',
      asRoot ? '    <changeowner><user>nobody</user><group>nogroup</group></changeowner>' : '',
      '  </security>',
      '</icecast>',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let output = '';

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const forced = setTimeout(() => running.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(forced);
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const started = spawn('icecast2', ['-c', configPath], {
      cwd: directory,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout!.on('data', (bytes: Buffer) => {
      output += bytes.toString();
    });
    started.stderr!.on('data', (bytes: Buffer) => {
      output += bytes.toString();
    });
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (started.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(
          `icecast2 did not answer on 127.0.0.1:${port} within 10 s (exit ${started.exitCode}): ${output}${readLog()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const readLog = (): string => {
    try {
      return readFileSync(join(directory, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };

  await start();
  return {
    port,
    sourcePassword,
    get pid() {
      return child?.pid;
    },
    mountUrl: (mount) => `http://127.0.0.1:${port}/${mount}`,
    sourceUrl: (mount) =>
      `icecast://source:${encodeURIComponent(sourcePassword)}@127.0.0.1:${port}/${mount}`,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(directory, { recursive: true, force: true });
    },
    errorLog: () => `${output}${readLog()}`,
  };
}
