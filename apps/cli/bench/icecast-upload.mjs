#!/usr/bin/env node
// Icecast 2 against p2psp, upload, run by `pnpm bench` (never by tests). One Liquidsoap
// encodes one sine to 128 kbit/s MP3 and pushes it to two mounts at once: a real icecast2
// (Debian package) and an in-process p2psp source (`--listen-source`). For 10 and 50
// listeners: N HTTP listeners read the Icecast mount, and N p2psp peers join the source.
// Over the same window, on loopback: what Icecast uploaded to its listeners (the bytes they
// received), and what the p2psp source uploaded (every datagram and TCP byte it sent), each
// divided by the stream's bytes (the bytes the p2psp source took from Liquidsoap).
// Reproduce: pnpm turbo run build --filter=p2psp... && node apps/cli/bench/icecast-upload.mjs
// (or `pnpm bench`). Quick run: P2PSP_BENCH_QUICK=1.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSource } from '@p2psp/source/node';
import {
  ensureSystemTools,
  FFMPEG,
  freePort,
  ICECAST,
  LIQUIDSOAP,
  startIcecastServer,
} from '@p2psp/testkit';
import { sleep, startLoopbackPeers, until } from '../test/loopback.mjs';

const quick = process.env.P2PSP_BENCH_QUICK === '1';
const WINDOW_MS = quick ? 5_000 : 20_000;
/** After everyone is in: Icecast's burst (64 KiB) read, the peers' buffers filled. */
const WARM_UP_MS = 5_000;
const LISTENER_COUNTS = [10, 50];
const PASSWORD = 'p2psp-bench';

const missing = ensureSystemTools([FFMPEG, ICECAST, LIQUIDSOAP]);
if (missing.length > 0) {
  console.log(`icecast-upload: skipped, missing ${missing.join(', ')}`);
  process.exit(0);
}

/** An HTTP listener of the Icecast mount that counts what it receives. */
function listen(url) {
  const listener = { bytes: 0, request: null };
  listener.request = get(url, (response) => {
    response.on('data', (bytes) => {
      listener.bytes += bytes.byteLength;
    });
  });
  listener.request.on('error', () => {});
  return listener;
}

const round = (value, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

const folder = mkdtempSync(join(tmpdir(), 'p2psp-icecast-bench-'));
const icecast = await startIcecastServer({ sourcePassword: PASSWORD, maxClients: 64 });
const pushPort = await freePort();
const script = join(folder, 'push.liq');
const output = (port) =>
  `output.icecast(%mp3(bitrate=128), host="127.0.0.1", port=${port}, password="${PASSWORD}", mount="/radio.mp3", s)`;
writeFileSync(
  script,
  [
    'settings.init.allow_root.set(true)',
    'settings.log.file.set(false)',
    's = sine(440.)',
    output(icecast.port),
    output(pushPort),
    '',
  ].join('\n'),
);
// startSource resolves once the first source client streams: Liquidsoap starts meanwhile.
const starting = startSource({
  listenSource: `127.0.0.1:${pushPort}/radio.mp3`,
  sourcePassword: PASSWORD,
  address: '127.0.0.1',
  port: 0,
  chunkSize: 1024,
  bufferSize: 128,
  seed: 1,
});
const liquidsoap = spawn('liquidsoap', [script], { stdio: 'ignore' });
const source = await starting;

try {
  console.log(
    `Icecast 2 (${icecast.port}) and p2psp, one Liquidsoap 128 kbit/s MP3, window ${WINDOW_MS / 1000} s`,
  );
  console.log(
    'listeners | stream kbit/s | Icecast upload kbit/s (x stream) | p2psp source upload kbit/s (x stream) | p2psp chunks lost',
  );
  for (const count of LISTENER_COUNTS) {
    const listeners = Array.from({ length: count }, () => listen(icecast.mountUrl('radio.mp3')));
    const peers = [];
    try {
      await startLoopbackPeers(source, count, 100, peers);
      await until(() => source.status().members === count, 60_000, `${count} members`);
      await sleep(WARM_UP_MS);
      const received = () => listeners.reduce((sum, listener) => sum + listener.bytes, 0);
      const uploaded = () => source.counters.datagramBytesSent + source.counters.tcpBytesSent;
      const before = {
        icecast: received(),
        p2psp: uploaded(),
        stream: source.status().bytesIngested,
        lost: peers.reduce((sum, peer) => sum + peer.status().chunksLost, 0),
        at: performance.now(),
      };
      await sleep(WINDOW_MS);
      const seconds = (performance.now() - before.at) / 1000;
      const stream = source.status().bytesIngested - before.stream;
      const icecastBytes = received() - before.icecast;
      const p2pspBytes = uploaded() - before.p2psp;
      const lost = peers.reduce((sum, peer) => sum + peer.status().chunksLost, 0) - before.lost;
      const kbps = (bytes) => round((bytes * 8) / seconds / 1000, 1);
      const silent = listeners.filter((listener) => listener.bytes === 0).length;
      console.log(
        `${count} | ${kbps(stream)} | ${kbps(icecastBytes)} (${round(icecastBytes / stream, 2)})${silent > 0 ? ` [${silent} listeners got nothing]` : ''} | ${kbps(p2pspBytes)} (${round(p2pspBytes / stream, 3)}) | ${lost}`,
      );
    } finally {
      for (const listener of listeners) listener.request.destroy();
      await Promise.all(peers.map((peer) => peer.stop()));
    }
  }
} finally {
  liquidsoap.kill('SIGTERM');
  await source.stop();
  await icecast.dispose();
  rmSync(folder, { recursive: true, force: true });
}
