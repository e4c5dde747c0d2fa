import { readFileSync } from 'node:fs';
import { createServer, get, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { mp3FrameLength, sleep, until, walkMp3Frames } from './helpers.js';
import { DEMO_SAMPLE, logsNamed, startP2pspPeer, startP2pspSource } from './real-servers.js';

// An ingest that never goes silent: `p2psp source --input URL` of a live MP3 mount that
// stalls, closes, answers 500, answers a web page, or refuses connections for a while. A
// `p2psp peer` relays it to a player. Through each fault the player keeps receiving MP3 (the
// source's silence), never waits more than a few seconds for a byte, and the source's logs
// name the fault with its own code.

const processes = new ChildProcesses();
afterEach(() => processes.killAll());

/** The demo MP3 (128 kbit/s, no ID3 tag), cut to whole frames so that it loops cleanly. */
const demo = readFileSync(DEMO_SAMPLE);
const frames = (() => {
  let end = 0;
  for (let length = mp3FrameLength(demo, 0); length > 0 && end + length <= demo.byteLength; ) {
    end += length;
    length = mp3FrameLength(demo, end);
  }
  return demo.subarray(0, end);
})();
const BYTES_PER_SECOND = 16_000;
const TICK_MS = 100;

type Mode = 'stream' | 'stall' | 'close' | 'status-500' | 'html' | 'refused';

/**
 * A live MP3 mount on loopback whose behaviour the test switches: `stream` sends the demo in
 * real time; `stall` keeps every connection open and sends nothing; `close` ends the streams
 * and answers new ones with an empty stream; `status-500` and `html` cut the streams and
 * answer 500 or a web page; `refused` stops listening.
 */
async function startMount() {
  let mode: Mode = 'stream';
  const streams = new Set<ServerResponse>();
  const server = createServer((_request, response) => {
    if (mode === 'status-500') {
      response.writeHead(500, 'Internal Server Error').end('try later');
      return;
    }
    if (mode === 'html') {
      response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>down</html>');
      return;
    }
    response.writeHead(200, { 'Content-Type': 'audio/mpeg' });
    if (mode === 'close') {
      response.end();
      return;
    }
    streams.add(response);
    let offset = 0;
    const timer = setInterval(() => {
      if (mode === 'stall') return;
      const bytes = (BYTES_PER_SECOND * TICK_MS) / 1000;
      const piece = Buffer.alloc(bytes);
      for (let filled = 0; filled < bytes; ) {
        const copied = frames.copy(piece, filled, offset % frames.byteLength);
        filled += copied;
        offset += copied;
      }
      response.write(piece);
    }, TICK_MS);
    response.on('close', () => {
      clearInterval(timer);
      streams.delete(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/live.mp3`,
    async set(next: Mode) {
      if (next === 'close') for (const response of streams) response.end();
      if (next === 'status-500' || next === 'html' || next === 'refused') {
        for (const response of streams) response.destroy();
      }
      if (next === 'refused') {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      } else if (mode === 'refused') {
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      }
      mode = next;
    },
    close() {
      for (const response of streams) response.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A player of the peer's stream that keeps each arrival's time. */
function timedPlayer(url: string) {
  const arrivals: { at: number; bytes: number }[] = [];
  const received: Buffer[] = [];
  const request = get(url, (response) => {
    response.on('data', (bytes: Buffer) => {
      arrivals.push({ at: performance.now(), bytes: bytes.byteLength });
      received.push(bytes);
    });
  });
  request.on('error', () => {});
  return {
    bytes: () => Buffer.concat(received),
    receivedBytes: () => arrivals.reduce((sum, arrival) => sum + arrival.bytes, 0),
    /** The longest wait for a byte within [from, to], and the bytes received in it. */
    window(from: number, to: number) {
      const times = arrivals.filter(({ at }) => at >= from && at <= to).map(({ at }) => at);
      let longest = 0;
      let previous = from;
      for (const at of [...times, to]) {
        longest = Math.max(longest, at - previous);
        previous = at;
      }
      const bytes = arrivals
        .filter(({ at }) => at >= from && at <= to)
        .reduce((sum, arrival) => sum + arrival.bytes, 0);
      return { longestGapMs: Math.round(longest), bytes };
    },
    close: () => request.destroy(),
  };
}

/** Each fault, the log line that names it and its code. */
const FAULTS: readonly { mode: Mode; log: string; code: string }[] = [
  { mode: 'stall', log: 'ingest-stall', code: 'P2PSP_ERR_INGEST_STALLED' },
  { mode: 'close', log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_CLOSED' },
  { mode: 'status-500', log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_HTTP_STATUS' },
  { mode: 'html', log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_NOT_MEDIA' },
  { mode: 'refused', log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_REFUSED' },
];
const FAULT_MS = 6000;
/** After a fault ends: the reconnect backoff (at most 4 s) and the stream through the peer. */
const RECOVERY_MS = 6000;
/** "Never more than a few seconds of silence." */
const MAX_GAP_MS = 4000;

describe('ingest faults (p2psp source and peer processes, a live MP3 mount on loopback)', () => {
  it('through a stall, a close, a 500, a web page and a refused port, the player keeps receiving MP3 and the logs name each fault', {
    timeout: 180_000,
  }, async () => {
    const mount = await startMount();
    try {
      const source = await startP2pspSource(processes, '--input', mount.url);
      const peer = await startP2pspPeer(processes, source.port);
      const player = timedPlayer(peer.url);
      await until(() => player.receivedBytes() > 4 * BYTES_PER_SECOND, 30_000, 'the stream');
      const measured: Record<string, unknown>[] = [];
      for (const fault of FAULTS) {
        const named = () =>
          logsNamed(source.running, fault.log).filter((line) => line.code === fault.code);
        const before = named().length;
        const from = performance.now();
        await mount.set(fault.mode);
        await sleep(FAULT_MS);
        const during = player.window(from, performance.now());
        await mount.set('stream');
        await sleep(RECOVERY_MS);
        const whole = player.window(from, performance.now());
        const line = named()[before];
        measured.push({
          fault: fault.mode,
          'longest gap (ms)': whole.longestGapMs,
          'bytes during the fault': during.bytes,
          'logged as': `${fault.log} ${fault.code}`,
        });
        expect(line, `${fault.mode}: a ${fault.log} line with ${fault.code}`).toBeDefined();
        expect(String(line?.reason), `${fault.mode}: the reason`).toMatch(/\S/);
        // The fallback plays: at least 2 s of the 128 kbit/s stream while the input is away.
        expect(during.bytes, `${fault.mode}: bytes during the fault`).toBeGreaterThan(
          2 * BYTES_PER_SECOND,
        );
        expect(whole.longestGapMs, `${fault.mode}: longest wait for a byte`).toBeLessThan(
          MAX_GAP_MS,
        );
      }
      console.table(measured);
      // Input, silence and input again, as whole MP3 frames from the first byte to the last.
      expect(walkMp3Frames(player.bytes())).toBeGreaterThan(1000);
      // The input came back after each fault: the stall resumed, the others reconnected.
      expect(logsNamed(source.running, 'ingest-resume').length).toBeGreaterThan(0);
      expect(logsNamed(source.running, 'ingest-reconnect-done').length).toBeGreaterThanOrEqual(4);
      player.close();
      for (const running of [source.running, peer.running]) {
        expect(running.child.exitCode).toBeNull();
      }
    } finally {
      mount.close();
    }
  });
});
