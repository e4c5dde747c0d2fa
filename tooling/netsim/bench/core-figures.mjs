#!/usr/bin/env node
// Figures of the sans-IO cores (SourceCore + PeerCore) on the simulator, run by `pnpm bench`
// (never by tests). Two parts:
//   1. Protocol figures in virtual time (deterministic, no wall clock): source upload over
//      the stream (replication factor; an Icecast-style server uploads N), peer upload,
//      chunk loss, start-up time and play-out delay, for 2, 5, 10 and 20 peers.
//   2. CPU cost of the cores: wall time per delivered datagram against a baseline measured
//      in the same run, the minimum any receiver does with the same datagrams (decode each
//      one and copy its bytes once).
// Reproduce: pnpm turbo run build --filter=@p2psp/netsim... && node tooling/netsim/bench/core-figures.mjs
import { PeerCore } from '@p2psp/peer';
import { SourceCore } from '@p2psp/source';
import { createRandom, decodeDatagram } from '@p2psp/wire';
import { addRecordedNode, fillStreamBytes, Simulator, StreamGenerator } from '../dist/index.js';

const CHUNK_SIZE = 1024;
const PIECE_BYTES = 512; // 512 bytes every 32 ms: 128 kbit/s, a chunk every 64 ms
const PIECE_PERIOD = 32;
const SOURCE = { address: '10.0.0.1', port: 4552 };

/** A source and `peers` peers joining 20 ms apart, streaming `seconds` of 128 kbit/s. */
function runCluster(peers, seconds, bufferSize = 64, latencyMillis = 5) {
  const sim = new Simulator({ seed: 1 });
  // The path's one-way latency, half on each access link.
  const link = { latencyMs: latencyMillis / 2 };
  const addNode = (name, endpoint, core, listens = false) =>
    addRecordedNode(sim, {
      name,
      endpoint,
      core,
      tcpListenPort: listens ? endpoint.port : null,
      link,
    });
  const sourceCore = new SourceCore({ random: createRandom(1), chunkSize: CHUNK_SIZE, bufferSize });
  const source = { ...addNode('source', SOURCE, sourceCore, true), core: sourceCore };
  // Whole pieces from t = 0 (the stream started one piece earlier), then the ingest ends.
  const pieces = Math.floor((16_000 * seconds) / PIECE_BYTES);
  new StreamGenerator(sim, source.node, {
    bitrate: (PIECE_BYTES * 8 * 1000) / PIECE_PERIOD,
    pieceBytes: PIECE_BYTES,
    startAt: -PIECE_PERIOD,
    stopAt: (pieces - 1) * PIECE_PERIOD,
    end: true,
  });
  const stream = new Uint8Array(pieces * PIECE_BYTES);
  fillStreamBytes(stream, 0);
  const nodes = [];
  for (let index = 0; index < peers; index++) {
    sim.runUntil(index * 20);
    const core = new PeerCore({ source: SOURCE, random: createRandom(100 + index) });
    const endpoint = { address: `10.0.1.${index + 1}`, port: 5000 };
    nodes.push({ ...addNode(`peer-${index}`, endpoint, core), core, startedAt: index * 20 });
  }
  sim.runUntil(pieces * PIECE_PERIOD + 3_000);
  return { sim, source, stream, nodes };
}

/** When the last byte of chunk `chunkNumber` was ingested (virtual ms). */
function ingestTimeOf(chunkNumber) {
  const lastByte = (chunkNumber + 1) * CHUNK_SIZE - 1;
  return Math.floor(lastByte / PIECE_BYTES) * PIECE_PERIOD;
}

function percentile(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

function protocolFigures(sizes, bufferSize) {
  const rows = [];
  for (const peers of sizes) {
    const { source, stream, nodes } = runCluster(peers, 60, bufferSize);
    const sourceStats = source.core.stats();
    let lost = 0;
    let played = 0;
    const startups = [];
    const delays = [];
    let peerUpload = 0;
    for (const { record, core, startedAt } of nodes) {
      const stats = core.stats();
      lost += stats.chunksLost;
      played += stats.chunksPlayed;
      peerUpload += record.uploadBytes;
      const first = record.plays.find((play) => play.payload !== null);
      if (first) startups.push(first.at - startedAt);
      for (const play of record.plays) {
        if (play.payload !== null) delays.push(play.at - ingestTimeOf(play.chunkNumber));
      }
    }
    rows.push({
      peers,
      bufferSize,
      sourceUpload: source.record.uploadBytes / stream.length,
      icecast: peers,
      peerUpload: peerUpload / peers / stream.length,
      expectedPeerUpload: (peers - 1) / peers,
      lossRatio: lost / (lost + played),
      startupP50: percentile(startups, 0.5),
      startupMax: Math.max(...startups),
      delayP50: percentile(delays, 0.5),
      delayP99: percentile(delays, 0.99),
      chunksDropped: sourceStats.chunksDropped,
    });
  }
  return rows;
}

function cpuFigures() {
  // The cluster run: 10 peers, 120 s of stream. Count every datagram delivered.
  const rounds = 5;
  const coreTimes = [];
  const baselineTimes = [];
  let datagrams = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const { source, nodes } = runCluster(10, 120);
    coreTimes.push(performance.now() - started);
    const sent = [source, ...nodes].flatMap(({ record }) =>
      record.sent.map((entry) => entry.bytes),
    );
    datagrams = sent.length;
    // Baseline: decode each datagram once and copy its bytes once.
    const baselineStart = performance.now();
    let checksum = 0;
    for (const bytes of sent) {
      const decoded = decodeDatagram(bytes);
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      checksum += decoded.ok ? copy[0] : 0;
    }
    baselineTimes.push(performance.now() - baselineStart);
    if (checksum < 0) console.log(checksum);
  }
  const core = percentile(coreTimes, 0.5);
  const baseline = percentile(baselineTimes, 0.5);
  return {
    datagrams,
    coreMicros: (core * 1000) / datagrams,
    baselineMicros: (baseline * 1000) / datagrams,
    ratio: core / baseline,
  };
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const print = (line) => console.log(line);
print('# Core figures (simulator, 128 kbit/s, 1,024-byte chunks, 5 ms latency, 60 s)\n');
print(
  '| peers | B | source upload / stream | Icecast-style | peer upload / stream | (N-1)/N | chunk loss | start-up p50 / max (ms) | play-out delay p50 / p99 (ms) |',
);
print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const rows = [
  ...protocolFigures([2, 5, 10, 20], 64),
  ...protocolFigures([10], 32),
  ...protocolFigures([10], 128),
];
for (const row of rows) {
  print(
    `| ${row.peers} | ${row.bufferSize} | ${fixed(row.sourceUpload, 4)} | ${row.icecast}.00 | ${fixed(row.peerUpload, 4)} | ${fixed(row.expectedPeerUpload, 4)} | ${fixed(row.lossRatio, 4)} | ${fixed(row.startupP50, 0)} / ${fixed(row.startupMax, 0)} | ${fixed(row.delayP50, 0)} / ${fixed(row.delayP99, 0)} |`,
  );
}
const cpu = cpuFigures();
print('\n# Core CPU cost (10 peers, 120 s of stream, median of 5 rounds)\n');
print(
  '| datagrams | cores + simulator, µs per datagram | decode + copy baseline, µs | vs baseline |',
);
print('| ---: | ---: | ---: | ---: |');
print(
  `| ${cpu.datagrams} | ${fixed(cpu.coreMicros, 2)} | ${fixed(cpu.baselineMicros, 2)} | ${fixed(cpu.ratio, 1)}x |`,
);
