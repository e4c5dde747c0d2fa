#!/usr/bin/env node
// Streaming figures on loopback, run by `pnpm bench` (never by tests):
//   1. Source upload bytes / stream bytes with 2, 5, 10, 20 peers, against an Icecast-style
//      HTTP fan-out of the same stream to the same number of clients, measured in the same run.
//   2. Join time (peer start, i.e. TCP connect, to the first byte written to its players)
//      and end-to-end delay (ingest to player write), p50 and p99, for B = 32, 64, 128.
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/streaming-figures.mjs
// (or `pnpm bench`). Quick run: P2PSP_BENCH_QUICK=1.
import { createServer, request } from 'node:http';
import { cpus } from 'node:os';
import { startPeer } from '@p2psp/peer/node';
import { startSource } from '@p2psp/source/node';
import {
  loopbackPeerOptions,
  loopbackSourceOptions,
  sleep,
  startLoopbackPeers,
  startRandomFeed,
  until,
} from '../test/loopback.mjs';

const quick = process.env.P2PSP_BENCH_QUICK === '1';
const CHUNK_SIZE = 1024;
const WINDOW_MS = quick ? 3_000 : 8_000;

/** A live feed: chunk-sized random blocks at `bitsPerSecond`, bounded by `maxSeconds`. */
const startFeed = (bitsPerSecond, maxSeconds) =>
  startRandomFeed({ bytesPerSecond: bitsPerSecond / 8, blockBytes: CHUNK_SIZE, maxSeconds });

function percentile(values, fraction) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

const round = (value, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Source upload / stream bytes with N peers, over a window once all N are members. */
async function measureP2psp(peerCount, bitsPerSecond) {
  const feed = startFeed(bitsPerSecond, 120);
  const source = await startSource({
    ...loopbackSourceOptions(feed),
    chunkSize: CHUNK_SIZE,
    bufferSize: Math.max(64, 2 * peerCount),
    seed: 1,
  });
  const peers = [];
  try {
    await startLoopbackPeers(source, peerCount, 10, peers);
    await until(() => source.status().members === peerCount, 20_000, 'members');
    await sleep(1_000);
    const upload = () => source.counters.datagramBytesSent + source.counters.tcpBytesSent;
    const before = { upload: upload(), ingested: source.status().bytesIngested };
    await sleep(WINDOW_MS);
    const after = { upload: upload(), ingested: source.status().bytesIngested };
    const lost = peers.reduce((sum, peer) => sum + peer.status().chunksLost, 0);
    return { ratio: (after.upload - before.upload) / (after.ingested - before.ingested), lost };
  } finally {
    feed.end();
    await Promise.all(peers.map((peer) => peer.stop()));
    await source.stop();
  }
}

/** The Icecast-style baseline: one HTTP server writes the whole stream to each of N clients. */
async function measureIcecastStyle(clientCount, bitsPerSecond) {
  const feed = startFeed(bitsPerSecond, 120);
  const responses = new Set();
  let ingested = 0;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    responses.add(response);
    response.on('close', () => responses.delete(response));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set();
  server.on('connection', (socket) => sockets.add(socket));
  feed.stream.on('data', (bytes) => {
    ingested += bytes.byteLength;
    for (const response of responses) response.write(bytes);
  });
  const clients = [];
  for (let index = 0; index < clientCount; index += 1) {
    const client = request(`http://127.0.0.1:${server.address().port}/`, (response) => {
      response.resume();
    });
    client.on('error', () => {});
    client.end();
    clients.push(client);
  }
  try {
    await until(() => responses.size === clientCount, 10_000, 'clients');
    await sleep(1_000);
    const written = () => [...sockets].reduce((sum, socket) => sum + socket.bytesWritten, 0);
    const before = { written: written(), ingested };
    await sleep(WINDOW_MS);
    const after = { written: written(), ingested };
    return (after.written - before.written) / (after.ingested - before.ingested);
  } finally {
    feed.end();
    for (const client of clients) client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Join time and ingest-to-player delay for buffer size B. */
async function measureJoinAndDelay(bufferSize, bitsPerSecond, peerCount, playoutDelayChunks) {
  const feed = startFeed(bitsPerSecond, 120);
  // Chunk k of the source carries ingest bytes [k*1024, (k+1)*1024): key each by its bytes.
  const ingestTimes = new Map();
  let pending = Buffer.alloc(0);
  const source = await startSource({
    ...loopbackSourceOptions(feed),
    chunkSize: CHUNK_SIZE,
    bufferSize,
    seed: 2,
    onIngest: (bytes, now) => {
      pending = Buffer.concat([pending, bytes]);
      while (pending.byteLength >= CHUNK_SIZE) {
        ingestTimes.set(pending.subarray(0, 16).toString('hex'), now);
        pending = pending.subarray(CHUNK_SIZE);
      }
    },
  });
  const peers = [];
  const joinTimes = [];
  const delays = [];
  let measuringDelay = false;
  try {
    const joins = [];
    for (let index = 0; index < peerCount; index += 1) {
      const startedAt = performance.now();
      let firstPlay = null;
      joins.push(
        until(() => firstPlay !== null, 30_000, 'first play').then(() =>
          joinTimes.push(firstPlay - startedAt),
        ),
      );
      peers.push(
        await startPeer({
          ...loopbackPeerOptions(source, 30 + index),
          ...(playoutDelayChunks ? { core: { playoutDelayChunks } } : {}),
          onPlay: (_chunkNumber, payload, now) => {
            if (payload === null) return;
            // The fan-out has just written this payload to the peer's players.
            firstPlay ??= now;
            if (!measuringDelay) return;
            const ingestedAt = ingestTimes.get(
              Buffer.from(payload.subarray(0, 16)).toString('hex'),
            );
            if (ingestedAt !== undefined) delays.push(now - ingestedAt);
          },
        }),
      );
      await sleep(200);
    }
    await Promise.all(joins);
    measuringDelay = true;
    await sleep(WINDOW_MS);
    const lost = peers.reduce((sum, peer) => sum + peer.status().chunksLost, 0);
    return {
      joinP50: percentile(joinTimes, 0.5),
      joinP99: percentile(joinTimes, 0.99),
      delayP50: percentile(delays, 0.5),
      delayP99: percentile(delays, 0.99),
      samples: delays.length,
      lost,
    };
  } finally {
    feed.end();
    await Promise.all(peers.map((peer) => peer.stop()));
    await source.stop();
  }
}

const lines = [];
const print = (line = '') => {
  lines.push(line);
  console.log(line);
};

print(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, loopback`);
print();
const UPLOAD_RATE = 128_000;
print(
  `### Source upload / stream bytes (stream ${UPLOAD_RATE / 1000} kbit/s, ${CHUNK_SIZE}-byte chunks)`,
);
print();
print('| peers | p2psp source | Icecast-style HTTP server | p2psp / Icecast | chunks lost |');
print('|---:|---:|---:|---:|---:|');
for (const peerCount of quick ? [2, 5] : [2, 5, 10, 20]) {
  const p2psp = await measureP2psp(peerCount, UPLOAD_RATE);
  const icecast = await measureIcecastStyle(peerCount, UPLOAD_RATE);
  print(
    `| ${peerCount} | ${round(p2psp.ratio)} | ${round(icecast)} | ${round(p2psp.ratio / icecast)} | ${p2psp.lost} |`,
  );
}
print();
const JOIN_PEERS = quick ? 4 : 10;
print(`### Join time and end-to-end delay (${JOIN_PEERS} peers joining 200 ms apart)`);
print();
print(
  '| stream | B | play-out delay | join p50 (ms) | join p99 (ms) | delay p50 (ms) | delay p99 (ms) | delay samples | lost |',
);
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
const configurations = [];
for (const bitsPerSecond of [128_000, 1_000_000]) {
  for (const bufferSize of [32, 64, 128]) configurations.push({ bitsPerSecond, bufferSize });
}
// The former default, B/2 chunks, at audio rates: the baseline of the time-based default
// (peer --playout-delay-ms, 500 ms): join time follows the delay.
for (const bufferSize of [32, 64, 128]) {
  configurations.push({ bitsPerSecond: 128_000, bufferSize, playoutDelayChunks: bufferSize / 2 });
}
for (const { bitsPerSecond, bufferSize, playoutDelayChunks } of configurations) {
  const result = await measureJoinAndDelay(
    bufferSize,
    bitsPerSecond,
    JOIN_PEERS,
    playoutDelayChunks,
  );
  print(
    `| ${bitsPerSecond / 1000} kbit/s | ${bufferSize} | ${playoutDelayChunks ? `${playoutDelayChunks} chunks (B/2)` : '500 ms (default)'} | ${Math.round(result.joinP50)} | ${Math.round(result.joinP99)} | ${Math.round(result.delayP50)} | ${Math.round(result.delayP99)} | ${result.samples} | ${result.lost} |`,
  );
}
process.exit(0);
