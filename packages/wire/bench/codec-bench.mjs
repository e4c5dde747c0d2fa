#!/usr/bin/env node
// Benchmark of the chunk datagram codec: encode and decode of a 1,024-byte chunk,
// as ops/s and as a time ratio to baselines measured in the same run: a raw Buffer.copy of
// the same datagram bytes, and (for decode) a bare subarray of the payload.
// Run after a build: `pnpm --filter @p2psp/wire bench` (turbo's bench task builds first).
// Not a test: it asserts nothing and prints figures for docs/benchmarks.md.
import { decodeDatagram, encodeDatagram } from '../dist/index.js';

const ROUNDS = 7;
const BATCH = 20_000;
const MIN_ROUND_NANOS = 300_000_000n;

const chunk = {
  type: 'chunk',
  chunkNumber: 0xffff_fff0,
  origin: 7,
  flags: { nonExclusive: false, recovered: false },
  payload: new Uint8Array(1024).map((_, index) => index % 251),
  signature: new Uint8Array(0),
};
const datagram = encodeDatagram(chunk); // 1,038 bytes: 14 header + 1,024 payload
const datagramBuffer = Buffer.from(datagram); // what dgram hands a 'message' listener
const copyTarget = Buffer.allocUnsafe(datagram.length);

let sink = 0; // results feed this so the work cannot be optimised away

const cases = {
  'Buffer.copy (baseline)': () => {
    sink += datagramBuffer.copy(copyTarget);
  },
  'subarray (baseline)': () => {
    sink += datagram.subarray(14, 1038).length;
  },
  'subarray of a Buffer (baseline)': () => {
    sink += datagramBuffer.subarray(14, 1038).length;
  },
  encodeDatagram: () => {
    sink += encodeDatagram(chunk).length;
  },
  decodeDatagram: () => {
    const result = decodeDatagram(datagram);
    sink += result.ok ? result.message.payload.length : 1;
  },
  'decodeDatagram of a Buffer': () => {
    const result = decodeDatagram(datagramBuffer);
    sink += result.ok ? result.message.payload.length : 1;
  },
};

/** ops/s of one timed round (whole batches until at least MIN_ROUND_NANOS). */
function measure(operation) {
  let operations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < MIN_ROUND_NANOS) {
    for (let index = 0; index < BATCH; index++) operation();
    operations += BATCH;
    elapsed = process.hrtime.bigint() - start;
  }
  return (operations * 1e9) / Number(elapsed);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Warm up every case (JIT), then interleave rounds so drift hits all cases alike.
for (const operation of Object.values(cases)) measure(operation);
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, operation] of Object.entries(cases)) samples[name].push(measure(operation));
}
const opsPerSecond = Object.fromEntries(
  Object.entries(samples).map(([name, values]) => [name, median(values)]),
);

const copy = opsPerSecond['Buffer.copy (baseline)'];
const format = (value) => Math.round(value).toLocaleString('en-US');
console.log(
  `@p2psp/wire codec, 1,024-byte chunk datagram (${datagram.length} bytes), Node ${process.version}, median of ${ROUNDS} rounds`,
);
console.log('| operation | ops/s | time vs Buffer.copy | time vs subarray |');
console.log('|---|---:|---:|---:|');
for (const [name, value] of Object.entries(opsPerSecond)) {
  const subarray = name.includes('Buffer')
    ? opsPerSecond['subarray of a Buffer (baseline)']
    : opsPerSecond['subarray (baseline)'];
  console.log(
    `| ${name} | ${format(value)} | ${(copy / value).toFixed(2)}x | ${(subarray / value).toFixed(2)}x |`,
  );
}
const decodeRatio = copy / opsPerSecond.decodeDatagram;
console.log(
  `decode takes ${decodeRatio.toFixed(2)}x the time of a raw Buffer.copy (aim: within 3x): ${decodeRatio <= 3 ? 'met' : 'NOT met'}`,
);
if (sink === 0) console.log('(sink)');
