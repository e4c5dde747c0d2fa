#!/usr/bin/env node
// Signed chunks: what they cost, run by `pnpm bench` (never by tests).
//   1. Bytes: the digest trailers the source's chunks carry / the payload bytes, for 1,024-byte
//      chunks and digests of 4, 8, 16 chunks (counted on the datagrams of the stream below).
//   2. CPU: 20 s of a 10 Mbit/s stream (1,221 chunks of 1,024 bytes a second) through one
//      joined PeerCore (a quarter of the chunks from the source, relayed to 3 members; the rest
//      relayed by them), signed against unsigned in the same run: the peer's whole datagram
//      path (decode, window, store, relay, play) is the baseline, and the verification's
//      share of one core is the extra CPU time over the stream's 20 s. Median of 5 rounds.
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/signed-chunks.mjs
import { cpuUsage } from 'node:process';
import { createVerifier, generateSigner, sha256 } from '@p2psp/host';
import { PeerCore } from '@p2psp/peer';
import { ChunkSigning } from '@p2psp/source';
import { createRandom, drainOutputs, encodeDatagram, encodeFrame } from '@p2psp/wire';

const CHUNK_SIZE = 1024;
const BITS_PER_SECOND = 10_000_000;
const SECONDS = 20;
const ROUNDS = 5;
const INTERVAL_MS = (CHUNK_SIZE * 8 * 1000) / BITS_PER_SECOND;
const CHUNKS = Math.round((SECONDS * 1000) / INTERVAL_MS);
const SOURCE = { address: '10.0.0.1', port: 4552 };
const ME = 5;
const MEMBERS = [1, 2, 3];
const member = (memberId) => ({
  memberId,
  endpoint: { address: `10.0.1.${memberId}`, port: 5000 },
  privateEndpoint: null,
  flags: { monitor: false, external: false, liberated: false },
});

/** The stream as datagrams: chunk n from the source when n % 4 is ours, else from a member. */
function stream(digestChunks, signer) {
  const signing = signer === null ? null : new ChunkSigning({ signer, sha256 }, digestChunks, 256);
  const random = createRandom(7);
  const datagrams = [];
  let trailerBytes = 0;
  for (let chunkNumber = 0; chunkNumber < CHUNKS; chunkNumber++) {
    const payload = new Uint8Array(CHUNK_SIZE).map(() => Math.floor(random.next() * 256));
    const trailer = signing?.cut(chunkNumber, payload, false) ?? new Uint8Array(0);
    trailerBytes += trailer.length;
    const origin = chunkNumber % 4 === 0 ? ME : MEMBERS[chunkNumber % 3];
    const from = origin === ME ? SOURCE : member(origin).endpoint;
    const flags = { nonExclusive: false, recovered: false };
    const message = { type: 'chunk', chunkNumber, origin, flags, payload, signature: trailer };
    datagrams.push({ from, bytes: encodeDatagram(message) });
  }
  return { datagrams, overhead: trailerBytes / (CHUNKS * CHUNK_SIZE) };
}

/** CPU milliseconds for one joined peer to take the whole stream (it runs in virtual time). */
function peerCpuMillis(datagrams, signer) {
  const core = new PeerCore({
    source: SOURCE,
    random: createRandom(3),
    ...(signer === null ? {} : { verifier: createVerifier(), sha256 }),
  });
  core.handleTimeout(0);
  core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
  const accept = {
    type: 'join-accept',
    memberId: ME,
    observedEndpoint: { address: '10.0.1.5', port: 40000 },
    chunkSize: CHUNK_SIZE,
    bufferSize: 512,
    monitorCount: 0,
    chunkIntervalMicros: Math.round(INTERVAL_MS * 1000),
    nextChunkNumber: 0,
    mediaType: 'application/octet-stream',
    header: new Uint8Array(0),
    members: [member(ME), ...MEMBERS.map(member)],
    sourceKey: signer === null ? new Uint8Array(0) : signer.publicKey,
  };
  core.handle({ type: 'connection-data', connection: -1, bytes: encodeFrame(accept) }, 0);
  drainOutputs(core);
  const start = cpuUsage();
  let played = 0;
  datagrams.forEach(({ from, bytes }, index) => {
    const now = index * INTERVAL_MS;
    while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= now) core.handleTimeout(now);
    core.handle({ type: 'datagram', from, bytes }, now);
    for (const output of drainOutputs(core)) if (output.type === 'play' && output.payload) played++;
  });
  const used = cpuUsage(start);
  const stats = core.stats();
  if (played < CHUNKS * 0.95 || stats.datagramsDropped['forged-chunk'] > 0) {
    throw new Error(`the bench peer played ${played} of ${CHUNKS}: ${JSON.stringify(stats)}`);
  }
  return (used.user + used.system) / 1000;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const pct = (ratio) => `${(ratio * 100).toFixed(2)} %`;

const signer = generateSigner();
console.log('| chunks per digest | trailer bytes / payload bytes |');
console.log('|---:|---:|');
for (const digestChunks of [4, 8, 16]) {
  console.log(`| ${digestChunks} | ${pct(stream(digestChunks, signer).overhead)} |`);
}

const unsigned = stream(8, null).datagrams;
const signed = stream(8, signer).datagrams;
const rounds = { unsigned: [], signed: [] };
peerCpuMillis(unsigned, null); // warm-up
peerCpuMillis(signed, signer);
for (let round = 0; round < ROUNDS; round++) {
  rounds.unsigned.push(peerCpuMillis(unsigned, null));
  rounds.signed.push(peerCpuMillis(signed, signer));
}
const base = median(rounds.unsigned);
const withSignatures = median(rounds.signed);
console.log(
  `\n${CHUNKS.toLocaleString('en-US')} chunks (${SECONDS} s at 10 Mbit/s), median of ${ROUNDS} rounds:\n`,
);
console.log('| peer | CPU ms | vs unsigned | share of one core at 10 Mbit/s |');
console.log('|---|---:|---:|---:|');
console.log(
  `| unsigned (baseline) | ${base.toFixed(0)} | 1.00x | ${pct(base / (SECONDS * 1000))} |`,
);
console.log(
  `| signed, 8 chunks a digest | ${withSignatures.toFixed(0)} | ${(withSignatures / base).toFixed(2)}x | ${pct(withSignatures / (SECONDS * 1000))} |`,
);
console.log(
  `\nVerification alone (signed - unsigned): ${pct((withSignatures - base) / (SECONDS * 1000))} of one core.`,
);
