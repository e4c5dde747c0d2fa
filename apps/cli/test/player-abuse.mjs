// The player port under abuse, on loopback with real processes: a
// `p2psp source` looping the demo MP3 (128 kbit/s) and one `p2psp peer`, both from the
// built bundle; in this process, readers, players that never read or read far too slowly,
// and a flood of connections that send no request head, half a head, or one request too
// many. Shared by test/player-abuse.test.ts (a short sample) and bench/player-abuse.mjs
// (the full figure), hence plain JavaScript; the types are in player-abuse.d.mts.
// Every child is killed by PID and every socket destroyed in `finally`; every loop is
// bounded in count and time; all traffic is on 127/8 (brief rule 5).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');
const GET = 'GET /stream HTTP/1.1\r\nHost: peer\r\n\r\n';
const PAGE_BYTES = 4096;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition, limitMs, what) {
  const deadline = performance.now() + limitMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      let body = '';
      response.on('data', (bytes) => {
        body += bytes;
      });
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    request.setTimeout(5_000, () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/** The process's resident memory (VmRSS of /proc/PID/status), in MiB. */
function residentMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** The kernel's TCP memory, all sockets of the machine (/proc/net/sockstat `TCP: ... mem`, pages). */
function kernelTcpMiB() {
  const match = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? (Number(match[1]) * PAGE_BYTES) / (1024 * 1024) : Number.NaN;
}

function startChild(args, children) {
  const child = spawn(process.execPath, [bundle, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, P2PSP_LOG_LEVEL: 'info' },
  });
  children.push(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (bytes) => {
    output.stdout += bytes;
  });
  child.stderr.on('data', (bytes) => {
    output.stderr += bytes;
  });
  const logs = () =>
    output.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
  return { child, output, logs };
}

/**
 * A raw HTTP client from a loopback address of its own (all of 127/8 is this machine, so
 * each client address is a household to the peer). `mode`: `read` (records the gaps
 * between arrivals), `never` (sends its request, never reads a byte), `slow` (reads
 * `slowBytesPerSecond`), `idle` (sends nothing), `slowloris` (a head a line at a time),
 * `once` (one request, keeps the answer's status line, hangs up).
 */
function openClient(port, from, mode, sockets, slowBytesPerSecond = 1024) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  sockets.push(socket);
  const state = {
    openedAt: performance.now(),
    lastDataAt: 0,
    maxGapMs: 0,
    bytes: 0,
    statusLine: '',
    retryAfter: null,
    closedAt: 0,
  };
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closedAt = performance.now();
  });
  if (mode === 'never' || mode === 'slow') {
    socket.pause();
    socket.write(GET);
    if (mode === 'slow') {
      const timer = setInterval(() => {
        if (socket.destroyed) clearInterval(timer);
        else socket.read(Math.min(slowBytesPerSecond, socket.readableLength));
      }, 1_000);
      socket.once('close', () => clearInterval(timer));
    }
    return state;
  }
  socket.on('data', (bytes) => {
    const now = performance.now();
    if (state.bytes === 0) {
      const head = bytes.toString('latin1');
      state.statusLine = head.split('\r\n')[0];
      state.retryAfter = /\r\nRetry-After: *(\d+)/i.exec(head)?.[1] ?? null;
      if (mode === 'once') socket.destroy();
    } else {
      state.maxGapMs = Math.max(state.maxGapMs, now - state.lastDataAt);
    }
    state.lastDataAt = now;
    state.bytes += bytes.byteLength;
  });
  if (mode === 'read' || mode === 'once') socket.write(GET);
  if (mode === 'slowloris') {
    socket.write('GET /stream HTTP/1.1\r\n');
    const timer = setInterval(() => {
      if (socket.destroyed) clearInterval(timer);
      else socket.write('X-Slow: 1\r\n');
    }, 500);
    socket.once('close', () => clearInterval(timer));
  }
  return state;
}

/** `count` clients spread over addresses `prefix.1`, `prefix.2`..., `perAddress` each. */
function addressOf(prefix, index, perAddress) {
  return `${prefix}.${1 + Math.floor(index / perAddress)}`;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * Runs the scenario: readers first (the baseline is measured once they all play), then at
 * once the players that do not read and the flood, for `seconds`. Returns what the readers
 * received, when the abusers were dropped or closed, the peer's counters and the memory.
 */
export async function runPlayerAbuse(options) {
  const {
    readers,
    nonReaders,
    slowReaders,
    floodPerSecond,
    floodSeconds,
    overCapRequests,
    seconds,
    playersPerAddress = 10,
  } = options;
  const abusers = nonReaders + slowReaders;
  const maxPlayers = readers + abusers;
  const children = [];
  const sockets = [];
  try {
    const source = startChild(
      ['source', '--input', demoSample, '--loop', '--address', '127.0.0.1', '--port', '0'],
      children,
    );
    await until(() => source.logs().some((line) => line.msg === 'source-start'), 20_000, 'source');
    const endpoint = String(source.logs().find((line) => line.msg === 'source-start').endpoint);
    const peer = startChild(
      [
        'peer',
        '--source',
        `127.0.0.1:${endpoint.split(':').at(-1)}`,
        '--address',
        '127.0.0.1',
        '--player-port',
        '0',
        '--max-players',
        String(maxPlayers),
        '--max-players-per-address',
        String(playersPerAddress),
      ],
      children,
    );
    await until(() => /play: (http:\S+)/.test(peer.output.stdout), 30_000, 'the peer');
    const url = new URL(/play: (http:\S+)/.exec(peer.output.stdout)[1]);
    const port = Number(url.port);
    const statusUrl = `http://127.0.0.1:${port}/status`;
    const pid = peer.child.pid;

    const readerStates = Array.from({ length: readers }, (_, index) =>
      openClient(port, addressOf('127.0.2', index, playersPerAddress), 'read', sockets),
    );
    await until(
      async () =>
        readerStates.every((state) => state.bytes > 0) &&
        (await getJson(statusUrl)).players === readers,
      60_000,
      'every reader playing',
    );
    await sleep(2_000);
    const baseline = { residentMiB: residentMiB(pid), kernelTcpMiB: kernelTcpMiB() };
    for (const state of readerStates) state.maxGapMs = 0;

    // The abuse, all at once.
    const abuseStart = performance.now();
    for (let index = 0; index < nonReaders; index++) {
      openClient(port, addressOf('127.0.3', index, playersPerAddress), 'never', sockets);
    }
    for (let index = 0; index < slowReaders; index++) {
      openClient(port, addressOf('127.0.4', index, playersPerAddress), 'slow', sockets);
    }
    await until(
      async () => (await getJson(statusUrl)).players === maxPlayers,
      30_000,
      'the abusers connected',
    );
    // The port is full now: every further request is one too many (asked before the flood,
    // which may fill the port's connections too, and be cut at accept without an answer).
    const overCapStates = Array.from({ length: overCapRequests }, (_, index) =>
      openClient(port, addressOf('127.0.5', index, 4), 'once', sockets),
    );
    await until(
      () => overCapStates.every((state) => state.closedAt > 0),
      10_000,
      'the answers to requests over the cap',
    );
    const floodStates = [];
    const floodTimer = setInterval(() => {
      if (performance.now() - abuseStart > floodSeconds * 1000) {
        clearInterval(floodTimer);
        return;
      }
      for (let count = 0; count < floodPerSecond / 10; count++) {
        const index = floodStates.length;
        const mode = index % 2 === 0 ? 'idle' : 'slowloris';
        floodStates.push(openClient(port, addressOf('127.0.9', index % 320, 20), mode, sockets));
      }
    }, 100);

    const samples = [];
    let abusersDroppedAt = null;
    const deadline = abuseStart + seconds * 1000;
    while (performance.now() < deadline) {
      const status = await getJson(statusUrl);
      const dropped = status.playersDropped;
      const sample = {
        atMs: Math.round(performance.now() - abuseStart),
        residentMiB: residentMiB(pid),
        kernelTcpMiB: kernelTcpMiB(),
        players: status.players,
        dropped,
      };
      samples.push(sample);
      if (abusersDroppedAt === null && dropped.slow + dropped.stalled >= abusers) {
        abusersDroppedAt = sample.atMs;
      }
      await sleep(500);
    }
    clearInterval(floodTimer);
    const status = await getJson(statusUrl);
    const end = { residentMiB: residentMiB(pid), kernelTcpMiB: kernelTcpMiB() };
    const floodClosed = floodStates.filter((state) => state.closedAt > 0);
    const peerLogs = peer.logs();
    return {
      readers: {
        count: readers,
        stillPlaying: readerStates.filter((state) => state.closedAt === 0).length,
        maxGapMs: Math.round(Math.max(...readerStates.map((state) => state.maxGapMs))),
        medianGapMs: Math.round(median(readerStates.map((state) => state.maxGapMs))),
      },
      abusers: {
        nonReaders,
        slowReaders,
        droppedWithinMs: abusersDroppedAt,
      },
      overCap: {
        requests: overCapStates.length,
        statusLines: overCapStates.map((state) => state.statusLine),
        retryAfter: overCapStates.map((state) => state.retryAfter),
      },
      flood: {
        opened: floodStates.length,
        closed: floodClosed.length,
        // Connections the peer had accepted and timed out (not those cut at accept).
        maxOpenMs: Math.round(
          Math.max(0, ...floodClosed.map((state) => state.closedAt - state.openedAt)),
        ),
      },
      playersDropped: status.playersDropped,
      playerDropLogLines: peerLogs.filter((line) => line.msg === 'player-drop').length,
      memory: {
        baseline,
        peak: {
          residentMiB: Math.max(...samples.map((sample) => sample.residentMiB)),
          kernelTcpMiB: Math.max(...samples.map((sample) => sample.kernelTcpMiB)),
        },
        end,
      },
      samples,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }
}
