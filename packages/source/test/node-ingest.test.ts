import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHeaderCapture, detectMediaType, icyMetadataBlock } from '@p2psp/media';
import { demoSamplePath } from '@p2psp/media/assets';
import { ascii, concat, dataPacket, ebmlElement, opusStream } from '@p2psp/media/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SourceHandle, startSource } from '../src/node/start-source.js';

async function until(condition: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Collects log lines (a pino-shaped logger). */
function recordingLogger() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const at =
    (level: string) =>
    (fields: object, message: string): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

const demo = readFileSync(demoSamplePath);

/** A small WebM file whose Segment has a known size (a capture writes it "unknown"). */
function webmFile(): Uint8Array {
  const block = (relative: number) =>
    ebmlElement(0xa3, concat(Uint8Array.of(0x81, 0, relative, 0x80), dataPacket(50)));
  const cluster = (timestamp: number) =>
    ebmlElement(
      0x1f43b675,
      concat(ebmlElement(0xe7, Uint8Array.of(timestamp)), block(0), block(20)),
    );
  return concat(
    ebmlElement(0x1a45dfa3, ebmlElement(0x4282, ascii('webm'))),
    ebmlElement(
      0x18538067,
      concat(
        ebmlElement(0x1549a966, ebmlElement(0x2ad7b1, Uint8Array.of(0x0f, 0x42, 0x40))),
        ebmlElement(0x1654ae6b, dataPacket(20)),
        cluster(0),
        cluster(40),
      ),
    ),
  );
}
let work: string;
const sources: SourceHandle[] = [];
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'p2psp-ingest-'));
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('file ingest', () => {
  it('paces an MP3 file and ends the stream cleanly at its end without --loop', async () => {
    // About 2 s of the 128 kbit/s sample.
    const path = join(work, 'short.mp3');
    writeFileSync(path, demo.subarray(0, 32_000));
    const source = await startSource({ input: path, address: '127.0.0.1', port: 0 });
    sources.push(source);
    expect(source.mediaType).toBe('audio/mpeg');
    const reason = await source.done;
    expect(reason).toMatch(/stream-end|end of file/);
    const ingested = source.status().bytesIngested;
    // All of the file but its ID3 tag (metadata, not stream).
    expect(ingested).toBeGreaterThan(25_000);
    expect(ingested).toBeLessThanOrEqual(32_000);
  });

  it.each([
    ['Ogg', 'stream.opus', () => concat(...opusStream(6))],
    ['WebM', 'stream.webm', webmFile],
  ])(
    'gives joiners the %s header the pacer tagged, as a capture finds it',
    async (_, name, file) => {
      const path = join(work, name);
      writeFileSync(path, file());
      const source = await startSource({ input: path, address: '127.0.0.1', port: 0 });
      sources.push(source);
      await source.done;
      const capture = createHeaderCapture(
        detectMediaType({ fileName: name, firstBytes: file() }).kind,
      );
      expect(capture.push(file())).toBe('complete');
      expect(source.core.header()).toEqual(capture.header);
      // The header as tagged, then every media byte after the file's own header.
      const { headerBytes, bytesIngested } = source.status();
      expect(headerBytes).toBe(capture.header.length);
      expect(bytesIngested - headerBytes).toBe(file().length - capture.dataOffset);
    },
  );

  it('repeats the file with loop', async () => {
    const path = join(work, 'loop.mp3');
    writeFileSync(path, demo.subarray(0, 8_000));
    const { lines, logger } = recordingLogger();
    const source = await startSource({
      input: path,
      address: '127.0.0.1',
      port: 0,
      loop: true,
      logger,
    });
    sources.push(source);
    await until(() => source.status().bytesIngested > 16_000, 10_000, 'a second pass');
    expect(lines.some((line) => line.message === 'ingest-loop')).toBe(true);
  });

  it('refuses a file that is not media, and asks for --bitrate when its type is forced', async () => {
    const path = join(work, 'noise.bin');
    writeFileSync(path, Buffer.alloc(4000, 1));
    await expect(startSource({ input: path, address: '127.0.0.1', port: 0 })).rejects.toMatchObject(
      {
        code: 'P2PSP_ERR_INGEST_NOT_MEDIA',
        message: expect.stringMatching(/--media-type/),
      },
    );
    const forced = { input: path, address: '127.0.0.1', port: 0, mediaType: 'application/x-raw' };
    await expect(startSource(forced)).rejects.toMatchObject({
      code: 'P2PSP_ERR_BITRATE_NEEDED',
      message: expect.stringMatching(/--bitrate/),
    });
  });
});

describe('HTTP ingest (Icecast-like server on loopback)', () => {
  let server: Server;
  let port = 0;
  const requests: IncomingHttpHeaders[] = [];
  let behaviour: 'close-early' | 'stream' = 'close-early';

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.headers);
      response.writeHead(200, { 'Content-Type': 'audio/mpeg', 'icy-name': 'test radio' });
      if (behaviour === 'close-early') {
        // The first connection: some stream, then the server drops it.
        response.end(demo.subarray(0, 20_000));
        behaviour = 'stream';
        return;
      }
      let offset = 20_000;
      const timer = setInterval(() => {
        if (offset + 4_000 > demo.byteLength) return;
        response.write(demo.subarray(offset, offset + 4_000));
        offset += 4_000;
      }, 50);
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends Icy-MetaData: 0, reconnects with backoff when the server closes, and logs it', async () => {
    const { lines, logger } = recordingLogger();
    const source = await startSource({
      input: `http://127.0.0.1:${port}/radio.mp3`,
      address: '127.0.0.1',
      port: 0,
      reconnectInitialMs: 50,
      logger,
    });
    sources.push(source);
    expect(source.mediaType).toBe('audio/mpeg');
    await until(
      () => source.status().bytesIngested > 40_000,
      10_000,
      'data after the reconnect',
    ).catch((error: unknown) => {
      console.log(requests.length, source.status().bytesIngested, lines);
      throw error;
    });
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests[0]?.['icy-metadata']).toBe('0');
    const reconnect = lines.find((line) => line.message === 'ingest-reconnect');
    expect(reconnect?.level).toBe('warn');
    expect(reconnect?.fields).toMatchObject({ attempt: 1, code: 'P2PSP_ERR_INGEST_CLOSED' });
    // The first delay, half of it random (equal jitter).
    const delayMs = (reconnect?.fields as { delayMs?: number } | undefined)?.delayMs;
    expect(delayMs).toBeGreaterThanOrEqual(25);
    expect(delayMs).toBeLessThanOrEqual(50);
  });
});

/** One ICY metadata block: its length in 16-byte units, then the text padded with zeros. */
describe('HTTP ingest with ICY metadata asked for', () => {
  it('strips the interleaved metadata, logs the titles and hands them and the icy headers to the core', async () => {
    const interval = 4_000;
    const media = demo.subarray(0, 24_000);
    const metadata = icyMetadataBlock('Ode to Joy');
    const parts: Uint8Array[] = [];
    for (let offset = 0; offset < media.byteLength; offset += interval) {
      parts.push(
        media.subarray(offset, offset + interval),
        offset === 0 ? metadata : Buffer.from([0]),
      );
    }
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, {
        'Content-Type': 'audio/mpeg',
        'icy-metaint': String(interval),
        'icy-name': 'Radio Libre',
        'icy-br': '128',
      });
      response.write(Buffer.concat(parts));
      // Then stay open, like a live mount with nothing new to say.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { lines, logger } = recordingLogger();
    const ingested: Buffer[] = [];
    try {
      const source = await startSource({
        input: `http://127.0.0.1:${(server.address() as AddressInfo).port}/radio.mp3`,
        address: '127.0.0.1',
        port: 0,
        icyMetadata: true,
        logger,
        onIngest: (bytes) => ingested.push(Buffer.from(bytes)),
      });
      sources.push(source);
      await until(() => Buffer.concat(ingested).byteLength >= media.byteLength, 5_000, 'media');
      expect(seen[0]?.['icy-metadata']).toBe('1');
      expect(Buffer.concat(ingested).equals(media)).toBe(true);
      expect(lines.find((line) => line.message === 'ingest-title')?.fields).toEqual({
        title: 'Ode to Joy',
      });
      // The cluster's title and station info (sent to the peers as stream-metadata).
      expect(source.core.title()).toBe('Ode to Joy');
      expect(source.core.streamInfo()).toMatchObject({ name: 'Radio Libre', bitrate: 128 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
