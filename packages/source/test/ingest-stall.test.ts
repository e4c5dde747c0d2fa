import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { demoSamplePath } from '@p2psp/media/assets';
import { freePort } from '@p2psp/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type SourceHandle, startSource } from '../src/node/start-source.js';

// A stalled input, for the kinds the HTTP test (apps/cli/test/ingest-faults.test.ts) does
// not cover: a pushed source client that stays connected but sends nothing, and stdin whose
// producer hangs. Each is covered by silence after the stall bound (2 s), long before the
// push ingest's 10 s idle limit, and the core keeps receiving stream bytes.

const demo = readFileSync(demoSamplePath);
const sources: SourceHandle[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const source of sources.splice(0)) await source.stop();
});

async function until(condition: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Log lines by message (a pino-shaped logger). */
function recordingLogger() {
  const lines: { message: string; fields: Record<string, unknown>; at: number }[] = [];
  const record = (fields: object, message: string) => {
    lines.push({ message, fields: fields as Record<string, unknown>, at: performance.now() });
  };
  return {
    named: (message: string) => lines.filter((line) => line.message === message),
    logger: { debug: record, info: record, warn: record, error: record },
  };
}

/**
 * Starts a source on `options`, writes 3 s of the demo MP3 through `write` (at 16 kB/s),
 * then stops writing without closing: the stall is logged with its code within the stall
 * bound, and silence keeps the core's ingest going. Returns when the input resumed.
 */
async function stallAndResume(
  what: string,
  write: (bytes: Uint8Array) => void,
  started: () => Promise<SourceHandle>,
  named: ReturnType<typeof recordingLogger>['named'],
) {
  let offset = 0;
  const send = (bytes: number) => {
    write(demo.subarray(offset, offset + bytes));
    offset += bytes;
  };
  send(16_000);
  const source = await started();
  sources.push(source);
  expect(source.mediaType).toBe('audio/mpeg');
  for (let tick = 0; tick < 20; tick += 1) {
    send(1_600);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stalledAt = performance.now();
  await until(() => named('ingest-stall').length > 0, 5_000, `the stall of ${what}`);
  const noticed = named('ingest-stall')[0]!;
  expect(noticed.fields).toMatchObject({ code: 'P2PSP_ERR_INGEST_STALLED' });
  expect(named('fallback-start')[0]?.fields).toMatchObject({ fallback: 'silence' });
  // Within its bound (2 s), with room for a loaded machine; not the 10 s idle limit.
  expect(noticed.at - stalledAt).toBeLessThan(4_000);
  expect(source.status().ingest).toEqual({ state: 'stalled', fallback: 'silence' });
  const atStall = source.status().bytesIngested;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  // 128 kbit/s of silence: about 16 kB in that second.
  expect(source.status().bytesIngested - atStall).toBeGreaterThan(8_000);
  send(16_000);
  await until(() => named('ingest-resume').length > 0, 5_000, 'the input to resume');
  expect(named('fallback-stop')).toHaveLength(1);
  expect(source.status().ingest.state).toBe('live');
}

describe('a stalled input is covered by silence', () => {
  it('a pushed source client that stays connected but sends nothing', async () => {
    const { named, logger } = recordingLogger();
    const port = await freePort();
    const starting = startSource({
      listenSource: `127.0.0.1:${port}/live.mp3`,
      sourcePassword: 'hackme',
      address: '127.0.0.1',
      port: 0,
      logger,
    });
    await until(() => named('source-listen').length > 0, 5_000, 'the source to listen');
    const client = connect(port, '127.0.0.1');
    sockets.push(client);
    client.on('error', () => {});
    client.write(
      [
        'PUT /live.mp3 HTTP/1.1',
        `Authorization: Basic ${Buffer.from('source:hackme').toString('base64')}`,
        'Content-Type: audio/mpeg',
        '',
        '',
      ].join('\r\n'),
    );
    await stallAndResume(
      'the pushed client',
      (bytes) => client.write(bytes),
      () => starting,
      named,
    );
  }, 30_000);

  it('stdin whose producer hangs', async () => {
    const { named, logger } = recordingLogger();
    const stdin = new PassThrough();
    const options = { input: '-', stdin, address: '127.0.0.1', port: 0, logger };
    await stallAndResume(
      'stdin',
      (bytes) => stdin.write(bytes),
      () => startSource(options),
      named,
    );
    stdin.end();
  }, 30_000);
});
