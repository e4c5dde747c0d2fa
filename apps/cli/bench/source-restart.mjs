#!/usr/bin/env node
// A source killed (SIGKILL) and started again on its address, several times: how long the
// players of 3 peers (processes of the built CLI, loopback, the demo MP3) hear nothing
// after the restart. Each figure is from the restart (the new process spawned) and from
// the new source listening, to the first byte of the stream again at each player; the
// players stay connected throughout (the peers rejoin by themselves). Run by `pnpm bench`.
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/source-restart.mjs
// (P2PSP_BENCH_RESTARTS=N, default 5).
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';

const here = import.meta.dirname;
const bundle = join(here, '../dist/p2psp.mjs');
const demo = join(here, '../../../packages/media/assets/demo.mp3');
const restarts = Number(process.env.P2PSP_BENCH_RESTARTS ?? 5);
const PEERS = 3;
// The silence before each restart: the peers' buffers play out, and the next report of
// each peer (every 2 s) finds the new source, whatever the phase.
const DOWN_MS = 3000;

const children = [];
const killAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
};
process.on('exit', killAll);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition, limitMs, what) {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `p2psp ARGS`, its JSON log lines and stdout kept. */
function cli(...args) {
  const child = spawn(process.execPath, [bundle, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, P2PSP_LOG_LEVEL: 'info' },
  });
  children.push(child);
  const run = { child, stdout: '', logs: [] };
  let partial = '';
  child.stdout.on('data', (bytes) => {
    run.stdout += bytes.toString();
  });
  child.stderr.on('data', (bytes) => {
    partial += bytes.toString();
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (line.startsWith('{')) run.logs.push({ at: performance.now(), ...JSON.parse(line) });
    }
  });
  run.exited = new Promise((resolve) => child.on('close', resolve));
  return run;
}

async function startSource(port) {
  const source = cli('source', '--input', demo, '--loop', '--address', '127.0.0.1', '--port', port);
  const spawnedAt = performance.now();
  await until(() => source.logs.some((line) => line.msg === 'source-start'), 20_000, 'source');
  const start = source.logs.find((line) => line.msg === 'source-start');
  return { source, spawnedAt, listeningAt: start.at, port: start.endpoint.split(':').at(-1) };
}

/** An HTTP player: the time of every piece of the stream it reads. */
function player(url) {
  const times = [];
  get(url, (response) => response.on('data', () => times.push(performance.now()))).on(
    'error',
    () => {},
  );
  return { firstAfter: (time) => times.find((at) => at > time), times };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  let { source, port } = await startSource('0');
  const peers = [];
  for (let index = 0; index < PEERS; index += 1) {
    peers.push(
      cli(
        ...['peer', '--source', `127.0.0.1:${port}`, '--address', '127.0.0.1'],
        ...['--player-port', '0'],
      ),
    );
  }
  await until(() => peers.every((peer) => /play: (\S+)/.test(peer.stdout)), 30_000, 'peers');
  const players = peers.map((peer) => player(/play: (\S+)/.exec(peer.stdout)[1]));
  const rows = [];
  for (let round = 1; round <= restarts; round += 1) {
    const now = performance.now();
    await until(
      () => players.every((each) => (each.times.at(-1) ?? 0) > now - 500),
      30_000,
      'every player playing',
    );
    source.child.kill('SIGKILL');
    await source.exited;
    await sleep(DOWN_MS);
    const restarted = await startSource(port);
    source = restarted.source;
    await until(
      () => players.every((each) => each.firstAfter(restarted.spawnedAt) !== undefined),
      30_000,
      'every player playing again',
    );
    const firsts = players.map((each) => each.firstAfter(restarted.spawnedAt));
    rows.push({
      fromSpawn: firsts.map((at) => Math.round(at - restarted.spawnedAt)),
      fromListening: firsts.map((at) => Math.round(at - restarted.listeningAt)),
    });
  }
  const exits = peers.filter((peer) => peer.child.exitCode !== null).length;
  console.log(
    `source SIGKILL and restart on its port, ${PEERS} peers with a player each, ${restarts} times (Node ${process.version}); peers that exited: ${exits}`,
  );
  console.log('| restart | restart to first byte (ms) | new source listening to first byte (ms) |');
  console.log('|---:|---|---|');
  for (const [index, row] of rows.entries()) {
    console.log(`| ${index + 1} | ${row.fromSpawn.join(', ')} | ${row.fromListening.join(', ')} |`);
  }
  const spawnAll = rows.flatMap((row) => row.fromSpawn);
  const listenAll = rows.flatMap((row) => row.fromListening);
  console.log(
    `median ${median(spawnAll)} ms, max ${Math.max(...spawnAll)} ms from the restart; median ${median(listenAll)} ms, max ${Math.max(...listenAll)} ms from the new source listening`,
  );
} finally {
  killAll();
}
