#!/usr/bin/env node
// Capacity on real sockets, run by `pnpm bench` (never by tests): how many peers this
// machine carries at 2, 5 and 10 Mbit/s before loss appears, each peer a `p2psp peer`
// process of the built CLI with one HTTP player, fed by a `p2psp source` looping a WebM
// VP8 file that ffmpeg generates at the bit rate (cached in the temp directory).
// At each bit rate the number of peers ramps up; at each N three clusters run one after
// the other, their order alternating, so that the machine's load weighs on all alike:
//   after   this tree's CLI (apps/cli/dist);
//   before  the CLI of the commit before rule 7's debt threshold went into stream time
//           (found with `git log -S debtThresholdMillis`), built in a git worktree in the
//           temp directory on the first run;
//   raw     the same datagram work with bare node:dgram: a raw source sends each chunk-sized
//           datagram (1,038 bytes, as a 1,024-byte chunk) to one of N raw relays in turn,
//           which resends it to the N-1 others, as a DBS peer relays what the source sent it.
// A run measures, over a window after every peer plays: each peer's chunk loss (its
// /status), its player's bytes against the source's ingest, members removed, neighbours
// dropped for debt, and CPU per process (utime + stime from /proc/PID/stat). A variant stops
// ramping at its first N with loss: a lost chunk, a removal or rejoin, or a player short
// of the stream. CPU per peer is given as a ratio to a raw relay's at the same N.
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/capacity.mjs
// P2PSP_BENCH_QUICK=1: 2 Mbit/s, 2 and 4 peers, short windows. P2PSP_BENCH_RATES=2,5 and
// P2PSP_BENCH_PEERS=10,20 choose the bit rates (Mbit/s) and the ramp.
import { execFileSync, fork, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, until } from '../test/loopback.mjs';

const CHUNK_BYTES = 1024;
/** A chunk datagram on the wire: the 14-byte header and the payload. */
const DATAGRAM_BYTES = CHUNK_BYTES + 14;
/**
 * B for the run: 4 s of stream, as the default 64 chunks are at 128 kbit/s (64 chunks are
 * 256 ms at 2 Mbit/s: the play-out delay, capped at B/2, is then 128 ms and every event-loop
 * stall of a busy machine loses chunks), and at least twice the cluster.
 */
function bufferFor(peerCount, bitsPerSecond) {
  const chunkMillis = (CHUNK_BYTES * 8 * 1000) / bitsPerSecond;
  return Math.max(64, 2 * peerCount, Math.ceil(4096 / chunkMillis));
}
/** Frames per second of the generated video; the raw source sends a frame's worth at once. */
const FPS = 25;
/** The raw relays number datagrams up to this many (a bitmap; 28 min at 10 Mbit/s). */
const RAW_SEQUENCES = 1 << 21;

if (process.argv[2] === 'raw-relay') runRawRelay();
else if (process.argv[2] === 'raw-source') runRawSource();
else await main();

/** A raw relay: every datagram from the source goes on to the other relays, once. */
function runRawRelay() {
  process.on('disconnect', () => process.exit(0));
  const seen = new Uint8Array(RAW_SEQUENCES);
  const socket = dgram.createSocket('udp4');
  let others = [];
  socket.on('message', (bytes) => {
    const sequence = bytes.readUInt32BE(0);
    seen[sequence % RAW_SEQUENCES] = 1;
    if (bytes[4] !== 0) return;
    bytes[4] = 1;
    for (const port of others) socket.send(bytes, port, '127.0.0.1');
  });
  process.on('message', (message) => {
    if (message.others) others = message.others;
    if (message.count) {
      const [from, to] = message.count;
      let received = 0;
      for (let sequence = from; sequence < to; sequence += 1) {
        received += seen[sequence % RAW_SEQUENCES];
      }
      process.send({ received });
    }
  });
  socket.bind(0, '127.0.0.1', () => process.send({ port: socket.address().port }));
}

/** The raw source: datagrams numbered in their first 4 bytes, a frame's worth each 1/FPS s. */
function runRawSource() {
  process.on('disconnect', () => process.exit(0));
  const socket = dgram.createSocket('udp4');
  let next = 0;
  process.on('message', (message) => {
    if (message.mark) process.send({ next });
    if (!message.relays) return;
    const { relays, datagramsPerSecond } = message;
    const started = performance.now();
    setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * datagramsPerSecond);
      for (; next < due; next += 1) {
        const bytes = Buffer.alloc(DATAGRAM_BYTES);
        bytes.writeUInt32BE(next, 0);
        socket.send(bytes, relays[next % relays.length], '127.0.0.1');
      }
    }, 1000 / FPS);
  });
  socket.bind(0, '127.0.0.1', () => process.send({ ready: true }));
}

async function main() {
  const quick = process.env.P2PSP_BENCH_QUICK === '1';
  const list = (name, fallback) =>
    (process.env[name] ?? fallback).split(',').map((value) => Number(value));
  const rates = list('P2PSP_BENCH_RATES', quick ? '2' : '2,5,10');
  const ramp = list('P2PSP_BENCH_PEERS', quick ? '2,4' : '5,10,15,20,25,30,40,50,60');
  const WARM_UP_MS = quick ? 2_000 : 3_000;
  const WINDOW_MS = quick ? 3_000 : 10_000;
  /** Peers start this far apart (the source admits 100 joins a second). */
  const JOIN_SPACING_MS = 100;
  const cacheDir = join(tmpdir(), 'p2psp-bench-capacity');
  mkdirSync(cacheDir, { recursive: true });

  const children = new Set();
  const killAll = () => {
    for (const child of children) killChild(child);
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }

  const bundles = {
    after: { path: join(import.meta.dirname, '../dist/p2psp.mjs'), commit: gitHead() },
    before: beforeBundle(),
  };
  const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
  console.log(
    `Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, loopback; load average at start ${loadText()}`,
  );
  console.log(`before: ${bundles.before.commit}; after: ${bundles.after.commit}`);
  const capacities = [];
  for (const mbps of rates) {
    const video = webm(mbps);
    console.log(
      `\n### ${mbps} Mbit/s: ${video.file} (VP8, ${(video.bitsPerSecond / 1e6).toFixed(2)} Mbit/s measured by ffprobe)\n`,
    );
    row([
      'peers',
      'variant',
      'peers with loss',
      'worst loss',
      'player bytes / stream (min)',
      'removed or rejoined (whole run)',
      'debt drops',
      'CPU per peer (mean, max)',
      'per peer / raw',
      'source CPU',
      'load',
    ]);
    row(['---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']);
    const clean = { after: null, before: null, raw: null };
    const active = new Set(['after', 'before', 'raw']);
    for (const [step, peers] of ramp.entries()) {
      const order = step % 2 === 0 ? ['after', 'before'] : ['before', 'after'];
      const results = {};
      for (const variant of [...order, 'raw']) {
        if (!active.has(variant)) continue;
        try {
          results[variant] =
            variant === 'raw'
              ? await measureRaw(peers, video.bitsPerSecond)
              : await measureCluster(bundles[variant].path, peers, video);
        } catch (error) {
          // A cluster that does not stream within the bounds has loss too.
          results[variant] = { lossy: true, failed: error.message.split('\n')[0] };
        }
      }
      for (const [variant, result] of Object.entries(results)) {
        const raw = results.raw;
        if (result.failed) {
          row([
            peers,
            variant,
            `did not stream: ${result.failed}`,
            ...Array(8).fill('-'),
            loadText(),
          ]);
          active.delete(variant);
          continue;
        }
        row([
          peers,
          variant,
          `${result.lossyPeers}/${peers}`,
          percent(result.worstLoss),
          result.minPlayerRatio === null ? '-' : result.minPlayerRatio.toFixed(3),
          result.removed === null
            ? '-'
            : Object.entries(result.removed)
                .map(([reason, count]) => `${reason} ${count}`)
                .join(', ') || '0',
          result.debtDrops ?? '-',
          `${percent(result.cpuMean, 1)}, ${percent(result.cpuMax, 1)}`,
          raw?.cpuMean > 0 ? `${(result.cpuMean / raw.cpuMean).toFixed(2)}x` : '-',
          result.sourceCpu === null ? '-' : percent(result.sourceCpu, 1),
          result.load,
        ]);
        if (result.lossy) active.delete(variant);
        else clean[variant] = peers;
      }
      if (!active.has('after') && !active.has('before')) break;
    }
    capacities.push({ mbps, clean, stillClean: [...active] });
  }
  console.log('\n### Peers carried before loss appears (largest N of the ramp without loss)\n');
  row(['stream', 'after', 'before', 'raw dgram']);
  row(['---', '---:', '---:', '---:']);
  for (const { mbps, clean, stillClean } of capacities) {
    const cell = (variant) =>
      `${clean[variant] ?? `< ${ramp[0]}`}${stillClean.includes(variant) ? ' (no loss at the top of the ramp)' : ''}`;
    row([`${mbps} Mbit/s`, cell('after'), cell('before'), cell('raw')]);
  }
  const benchCpu = process.cpuUsage();
  console.log(
    `\nload average at end ${loadText()}; this bench's own CPU (players, status polls): ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s over ${(performance.now() / 1000).toFixed(0)} s`,
  );
  process.exit(0);

  function track(child) {
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  }

  /** A p2psp source and N peers of one CLI bundle, each peer with one HTTP player. */
  async function measureCluster(bundle, peerCount, { file: video, bitsPerSecond }) {
    const started = [];
    const players = [];
    try {
      const source = cli(bundle, [
        ...['source', '--input', video, '--loop', '--address', '127.0.0.1', '--port', '0'],
        ...['--status-port', '0', '--buffer', String(bufferFor(peerCount, bitsPerSecond))],
      ]);
      started.push(source);
      await until(() => source.log('status-listen'), 30_000, 'the source');
      const endpoint = source.log('source-start').endpoint;
      const statusUrl = source.log('status-listen').url;
      const peers = [];
      for (let index = 0; index < peerCount; index += 1) {
        const peer = cli(bundle, [
          ...['peer', '--source', endpoint, '--address', '127.0.0.1', '--player-port', '0'],
        ]);
        started.push(peer);
        peers.push(peer);
        await sleep(JOIN_SPACING_MS);
      }
      await until(
        () => peers.every((peer) => peer.playerUrl()),
        30_000 + 1_000 * peerCount,
        'every peer joined',
      );
      for (const peer of peers) players.push(player(peer.playerUrl()));
      // Past the header: a player starts at the video's next key frame.
      await until(
        () => players.every((each) => each.bytes > bitsPerSecond / 8),
        30_000,
        `every player past 1 s of stream (${peerCount} peers)`,
      ).catch(async (error) => {
        const members = (await getJson(statusUrl)).members.length;
        const playing = players.filter((each) => each.bytes > bitsPerSecond / 8).length;
        throw new Error(`${error.message}: ${playing} were, ${members} members`);
      });
      await sleep(WARM_UP_MS);
      const snapshot = async () => ({
        at: performance.now(),
        ticks: started.map((child) => cpuTicks(child.child.pid)),
        source: await getJson(statusUrl),
        peers: await Promise.all(
          peers.map((peer) => getJson(peer.playerUrl().replace(/stream$/, 'status'))),
        ),
        playerBytes: players.map((each) => each.bytes),
        debtDrops: peers.reduce((sum, peer) => sum + peer.debtDrops, 0),
      });
      const first = await snapshot();
      await sleep(WINDOW_MS);
      const last = await snapshot();
      const seconds = (last.at - first.at) / 1000;
      const cpu = last.ticks.map((ticks, index) => (ticks - first.ticks[index]) / 100 / seconds);
      // The stream as cut into chunks in the window: what each player should get.
      const streamBytes =
        (last.source.stats.chunksCut - first.source.stats.chunksCut) * CHUNK_BYTES;
      const losses = last.peers.map((status, index) => {
        const lost = status.chunksLost - first.peers[index].chunksLost;
        const played = status.chunksPlayed - first.peers[index].chunksPlayed;
        return lost + played > 0 ? lost / (lost + played) : 1;
      });
      const playerRatios = last.playerBytes.map(
        (bytes, index) => (bytes - first.playerBytes[index]) / streamBytes,
      );
      // Over the whole run, joins included: members removed by the source, by reason, and
      // rejoins (a peer that lost its source).
      const removed = {};
      for (const { reason } of last.source.removals) removed[reason] = (removed[reason] ?? 0) + 1;
      const rejoins = last.peers.reduce((sum, status) => sum + status.rejoin.rejoins, 0);
      if (rejoins > 0) removed.rejoined = rejoins;
      const lossyPeers = losses.filter((loss) => loss > 0).length;
      const minPlayerRatio = Math.min(...playerRatios);
      // A player short of the stream by more than 5% (a frame or two is the snapshots'
      // timing) has stalled or lost its peer.
      const shortPlayer = minPlayerRatio < 0.95;
      return {
        lossy: lossyPeers > 0 || Object.keys(removed).length > 0 || shortPlayer,
        lossyPeers,
        worstLoss: Math.max(...losses),
        minPlayerRatio,
        removed,
        debtDrops: last.debtDrops - first.debtDrops,
        sourceCpu: cpu[0],
        cpuMean: mean(cpu.slice(1)),
        cpuMax: Math.max(...cpu.slice(1)),
        load: loadText(),
      };
    } finally {
      for (const each of players) each.request.destroy();
      for (const each of started) killChild(each.child);
      await Promise.all(started.map((each) => each.exited));
    }
  }

  /** The raw baseline: a raw source and N raw relays, the same datagrams per second. */
  async function measureRaw(relayCount, bitsPerSecond) {
    const processes = [];
    const forkRaw = (role) => {
      const child = track(fork(import.meta.filename, [role], { stdio: 'ignore' }));
      processes.push(child);
      return child;
    };
    const ask = (child, message, key) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${key} from a raw process`)), 30_000);
        const listener = (answer) => {
          if (!(key in answer)) return;
          clearTimeout(timer);
          child.off('message', listener);
          resolve(answer[key]);
        };
        child.on('message', listener);
        if (message) child.send(message);
      });
    try {
      const source = forkRaw('raw-source');
      const relays = Array.from({ length: relayCount }, () => forkRaw('raw-relay'));
      const ports = await Promise.all(relays.map((relay) => ask(relay, null, 'port')));
      await ask(source, null, 'ready');
      for (const [index, relay] of relays.entries()) {
        relay.send({ others: ports.filter((_port, other) => other !== index) });
      }
      source.send({ relays: ports, datagramsPerSecond: bitsPerSecond / 8 / CHUNK_BYTES });
      await sleep(WARM_UP_MS);
      const firstAt = performance.now();
      const firstTicks = processes.map((child) => cpuTicks(child.pid));
      const from = await ask(source, { mark: true }, 'next');
      await sleep(WINDOW_MS);
      const to = await ask(source, { mark: true }, 'next');
      const lastTicks = processes.map((child) => cpuTicks(child.pid));
      const seconds = (performance.now() - firstAt) / 1000;
      await sleep(200);
      const received = await Promise.all(
        relays.map((relay) => ask(relay, { count: [from, to] }, 'received')),
      );
      const losses = received.map((count) => 1 - count / (to - from));
      const cpu = lastTicks.map((ticks, index) => (ticks - firstTicks[index]) / 100 / seconds);
      const lossyPeers = losses.filter((loss) => loss > 0).length;
      return {
        lossy: lossyPeers > 0,
        lossyPeers,
        worstLoss: Math.max(...losses),
        minPlayerRatio: null,
        removed: null,
        debtDrops: null,
        sourceCpu: cpu[0],
        cpuMean: mean(cpu.slice(1)),
        cpuMax: Math.max(...cpu.slice(1)),
        load: loadText(),
      };
    } finally {
      for (const child of processes) killChild(child);
    }
  }

  /** `node BUNDLE ARGS`: stdout kept, JSON log lines on stderr kept by message. */
  function cli(bundle, args) {
    const child = track(
      spawn(process.execPath, [bundle, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, P2PSP_LOG_LEVEL: 'info' },
      }),
    );
    const run = { child, stdout: '', stderrTail: '', logs: new Map(), debtDrops: 0 };
    const running = () => {
      if (child.exitCode !== null) {
        throw new Error(`p2psp ${args[0]} exited ${child.exitCode}: ${run.stderrTail}`);
      }
    };
    /** The first log line with this message; throws if the process has exited. */
    run.log = (message) => {
      running();
      return run.logs.get(message);
    };
    /** Where players open the stream (a peer prints it); throws if the process has exited. */
    run.playerUrl = () => {
      running();
      return /play: (\S+)/.exec(run.stdout)?.[1];
    };
    run.exited = new Promise((resolve) => child.on('close', resolve));
    let partial = '';
    child.stdout.on('data', (bytes) => {
      run.stdout += bytes.toString();
    });
    child.stderr.on('data', (bytes) => {
      run.stderrTail = (run.stderrTail + bytes.toString()).slice(-2000);
      const lines = (partial + bytes.toString()).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line);
        if (entry.msg === 'neighbour-drop' && entry.reason === 'debt') run.debtDrops += 1;
        else if (!run.logs.has(entry.msg)) run.logs.set(entry.msg, entry);
      }
    });
    return run;
  }

  /** The commit before the debt threshold in stream time, built once in a git worktree. */
  function beforeBundle() {
    const git = (...args) =>
      execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
    const change = git('log', '--format=%H', '--reverse', '-S', 'debtThresholdMillis').split(
      '\n',
    )[0];
    const commit = git('rev-parse', '--short', `${change}^`);
    const tree = join(tmpdir(), `p2psp-before-${change.slice(0, 7)}`);
    const path = join(tree, 'apps/cli/dist/p2psp.mjs');
    if (!existsSync(path)) {
      console.log(`building the before CLI (${commit}) in ${tree} ...`);
      if (!existsSync(tree)) git('worktree', 'add', '--detach', tree, commit);
      const run = (command, args) =>
        execFileSync(command, args, { cwd: tree, stdio: 'inherit', timeout: 600_000 });
      run('pnpm', ['install', '--offline', '--frozen-lockfile']);
      run('pnpm', ['turbo', 'run', 'build', '--filter=p2psp...', '--output-logs=errors-only']);
    }
    return { path, commit: `${commit} (${tree})` };
  }

  function gitHead() {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
    }).trim();
  }

  /** A WebM VP8 file of 10 s of noisy test video at `mbps`, generated once. */
  function webm(mbps) {
    const file = join(cacheDir, `vp8-${mbps}M.webm`);
    if (!existsSync(file)) {
      const size = mbps <= 2 ? '640x360' : mbps <= 5 ? '960x540' : '1280x720';
      execFileSync(
        'ffmpeg',
        [
          ...['-loglevel', 'error', '-y', '-f', 'lavfi'],
          ...['-i', `testsrc2=size=${size}:rate=${FPS},noise=alls=60:allf=t`, '-t', '10'],
          ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', String(2 * FPS)],
          ...['-b:v', `${mbps}M`, '-minrate', `${mbps}M`, '-maxrate', `${mbps}M`],
          ...['-bufsize', `${mbps}M`, file],
        ],
        { timeout: 300_000 },
      );
    }
    const bitsPerSecond = Number(
      execFileSync(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'format=bit_rate', '-of', 'csv=p=0', file],
        { encoding: 'utf8' },
      ).trim(),
    );
    return { file, bitsPerSecond };
  }
}

function killChild(child) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat; 100 Hz). */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** An HTTP player counting the bytes it reads. */
function player(url) {
  const each = { bytes: 0 };
  each.request = get(url, (response) =>
    response.on('data', (bytes) => {
      each.bytes += bytes.byteLength;
    }),
  );
  each.request.on('error', () => {});
  return each;
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: 10_000 }, (response) => {
      let text = '';
      response.on('data', (bytes) => {
        text += bytes;
      });
      response.on('end', () => resolve(JSON.parse(text)));
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 10 s`)));
    request.on('error', reject);
  });
}

function mean(values) {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function percent(fraction, digits = 2) {
  return `${(fraction * 100).toFixed(digits)}%`;
}

function loadText() {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}
