import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureSystemTools, FFMPEG } from '@p2psp/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './child-processes.js';
import { mp3FrameLength, sleep, until, walkMp3Frames, walkOggPages } from './helpers.js';
import {
  DEMO_SAMPLE,
  decodeBytes,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
} from './real-servers.js';

// An ingest that never goes silent: `p2psp source --input URL` of a live mount that stalls,
// closes, answers 500, answers a web page, or refuses connections for a while. A `p2psp
// peer` relays it to a player. Through each fault the player keeps receiving the stream (the
// source's silence), never waits more than a few seconds for a byte, and the source's logs
// name the fault with its own code. The MP3 mount goes through every fault; an Ogg/Opus one
// (encoded by ffmpeg, Debian package ffmpeg) through a stall and a close, and ffmpeg then
// decodes all its player received.

const processes = new ChildProcesses();
afterEach(() => processes.killAll());
let missing: string[] = [];
beforeAll(() => {
  // Installs ffmpeg when missing (as root); throws in CI if still missing.
  missing = ensureSystemTools([FFMPEG]);
}, 15 * 60_000);

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
const MP3_BYTES_PER_SECOND = 16_000;
const TICK_MS = 100;

/** Two minutes of a tone in Ogg/Opus (64 kbit/s VBR, 20 ms pages), encoded by ffmpeg. */
function oggTone(): Buffer {
  const result = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=120'],
      ...['-c:a', 'libopus', '-b:a', '64k', '-page_duration', '20000', '-f', 'ogg', 'pipe:1'],
    ],
    { maxBuffer: 64 << 20, timeout: 60_000 },
  );
  expect(result.stderr.toString()).toBe('');
  return result.stdout;
}

type Mode = 'stream' | 'stall' | 'close' | 'status-500' | 'html' | 'refused';

/** What a mount serves: the stream's bytes, its type, and its rate. */
interface Body {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly bytesPerSecond: number;
  readonly mount: string;
}

/**
 * A live mount on loopback whose behaviour the test switches: `stream` sends `body` in real
 * time from its start (looped); `stall` keeps every connection open and sends nothing;
 * `close` ends the streams and answers new ones with an empty stream; `status-500` and
 * `html` cut the streams and answer 500 or a web page; `refused` stops listening.
 */
async function startMount(body: Body) {
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
    response.writeHead(200, { 'Content-Type': body.contentType });
    if (mode === 'close') {
      response.end();
      return;
    }
    streams.add(response);
    let offset = 0;
    const timer = setInterval(() => {
      if (mode === 'stall') return;
      const bytes = Math.round((body.bytesPerSecond * TICK_MS) / 1000);
      const piece = Buffer.alloc(bytes);
      for (let filled = 0; filled < bytes; ) {
        const copied = body.bytes.copy(piece, filled, offset % body.bytes.byteLength);
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
    url: `http://127.0.0.1:${port}/${body.mount}`,
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
const FAULTS = {
  stall: { log: 'ingest-stall', code: 'P2PSP_ERR_INGEST_STALLED' },
  close: { log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_CLOSED' },
  'status-500': { log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_HTTP_STATUS' },
  html: { log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_NOT_MEDIA' },
  refused: { log: 'ingest-reconnect', code: 'P2PSP_ERR_INGEST_REFUSED' },
} as const satisfies Partial<Record<Mode, { log: string; code: string }>>;
type Fault = keyof typeof FAULTS;
const FAULT_MS = 6000;
/** After a fault ends: the reconnect backoff (at most 4 s) and the stream through the peer. */
const RECOVERY_MS = 6000;
/** "Never more than a few seconds of silence." */
const MAX_GAP_MS = 4000;

/**
 * Runs `faults` one after the other against a source of `body` and a peer, each for
 * FAULT_MS then RECOVERY_MS, asserting what the player receives and what the source logs.
 * Returns the player's bytes and the source's process.
 */
async function throughFaults(body: Body, faults: readonly Fault[]) {
  const mount = await startMount(body);
  try {
    const source = await startP2pspSource(processes, '--input', mount.url);
    const peer = await startP2pspPeer(processes, source.port);
    const player = timedPlayer(peer.url);
    await until(() => player.receivedBytes() > 4 * body.bytesPerSecond, 30_000, 'the stream');
    const measured: Record<string, unknown>[] = [];
    for (const fault of faults) {
      const { log, code } = FAULTS[fault];
      const named = () => logsNamed(source.running, log).filter((line) => line.code === code);
      const before = named().length;
      const from = performance.now();
      await mount.set(fault);
      await sleep(FAULT_MS);
      const during = player.window(from, performance.now());
      await mount.set('stream');
      await sleep(RECOVERY_MS);
      const whole = player.window(from, performance.now());
      measured.push({
        stream: body.contentType,
        fault,
        'longest gap (ms)': whole.longestGapMs,
        'bytes during the fault': during.bytes,
        'logged as': `${log} ${code}`,
      });
      const line = named()[before];
      expect(line, `${fault}: a ${log} line with ${code}`).toBeDefined();
      expect(String(line?.reason), `${fault}: the reason`).toMatch(/\S/);
      // The fallback plays: at least 2 s of the stream's bytes while the input is away.
      expect(during.bytes, `${fault}: bytes during the fault`).toBeGreaterThan(
        2 * body.bytesPerSecond,
      );
      expect(whole.longestGapMs, `${fault}: longest wait for a byte`).toBeLessThan(MAX_GAP_MS);
    }
    console.table(measured);
    player.close();
    for (const running of [source.running, peer.running]) {
      expect(running.child.exitCode).toBeNull();
    }
    return { bytes: player.bytes(), source: source.running };
  } finally {
    mount.close();
  }
}

describe('ingest faults (p2psp source and peer processes, a live mount on loopback)', () => {
  it('MP3: through a stall, a close, a 500, a web page and a refused port, the player keeps receiving whole frames and the logs name each fault', {
    timeout: 180_000,
  }, async () => {
    const { bytes, source } = await throughFaults(
      {
        bytes: frames,
        contentType: 'audio/mpeg',
        bytesPerSecond: MP3_BYTES_PER_SECOND,
        mount: 'live.mp3',
      },
      ['stall', 'close', 'status-500', 'html', 'refused'],
    );
    // Input, silence and input again, as whole MP3 frames from the first byte to the last.
    expect(walkMp3Frames(bytes)).toBeGreaterThan(1000);
    // The input came back after each fault: the stall resumed, the others reconnected.
    expect(logsNamed(source, 'ingest-resume').length).toBeGreaterThan(0);
    expect(logsNamed(source, 'ingest-reconnect-done').length).toBeGreaterThanOrEqual(4);
  });

  it('Ogg/Opus: through a stall and a close the player keeps receiving, and ffmpeg decodes it all', {
    timeout: 120_000,
  }, async (context) => {
    if (missing.length > 0) context.skip(`missing ${missing.join(', ')}`);
    const tone = oggTone();
    const { bytes, source } = await throughFaults(
      {
        bytes: tone,
        contentType: 'audio/ogg',
        bytesPerSecond: tone.byteLength / 120,
        mount: 'live.ogg',
      },
      ['stall', 'close'],
    );
    // A chain: the input, silence, the input resumed after its own header, silence, the
    // input again from its start. The player's last page may be cut: it stopped reading.
    expect(walkOggPages(bytes).pages).toBeGreaterThan(500);
    const decoded = decodeBytes(bytes);
    expect(decoded.errors).toBe('');
    expect(decoded.status).toBe(0);
    expect(logsNamed(source, 'ingest-resume').length).toBeGreaterThan(0);
  });
});
