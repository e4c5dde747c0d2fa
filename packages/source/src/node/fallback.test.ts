import { readFileSync } from 'node:fs';
import { demoSamplePath } from '@p2psp/media/assets';
import { adtsFrame, concat } from '@p2psp/media/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createFallback, type Fallback } from './fallback.js';
import type { IngestHandlers } from './ingest.js';

const demo = readFileSync(demoSamplePath);
const fallbacks: Fallback[] = [];
afterEach(() => {
  for (const fallback of fallbacks.splice(0)) fallback.stop();
});

/** What reached the core, in order: data pieces, restarts, losses, ends. */
function recorder() {
  const calls: string[] = [];
  const pieces: Uint8Array[] = [];
  const handlers: IngestHandlers = {
    data: (bytes) => {
      pieces.push(bytes);
      if (calls.at(-1) !== 'data') calls.push('data');
    },
    restart: (reason) => calls.push(`restart: ${reason}`),
    lost: (reason) => calls.push(`lost: ${reason}`),
    end: (reason) => calls.push(`end: ${reason}`),
  };
  return {
    handlers,
    calls,
    pieces,
    bytes: () => pieces.reduce((sum, piece) => sum + piece.length, 0),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; !check(); attempt += 1) {
    if (attempt >= 250) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function fallback(options: Parameters<typeof createFallback>[0]) {
  const created = await createFallback(options);
  fallbacks.push(created);
  return created;
}

describe('createFallback', () => {
  it('passes the input on; in a gap plays silence in its format, in real time, until the input is back', async () => {
    const filler = await fallback({ kind: 'mp3', header: () => new Uint8Array(0) });
    expect(filler.kind).toBe('silence');
    const core = recorder();
    const input = filler.around(core.handlers);
    // Cut anywhere: the core gets whole frames, and the unfinished last one is dropped.
    input.data(demo.subarray(0, 10_000));
    input.data(demo.subarray(10_000, 20_000));
    const delivered = core.bytes();
    expect(delivered).toBeGreaterThan(18_000);
    expect(delivered).toBeLessThanOrEqual(20_000);
    expect([...demo.subarray(delivered, delivered + 2)]).toEqual([0xff, 0xfb]);
    const silenceFrom = core.pieces.length;
    const started = performance.now();
    input.lost?.('source client left');
    expect(core.calls).toEqual([
      'data',
      'lost: source client left',
      'restart: fallback: silence while the input is away',
      'data',
    ]);
    await sleep(500);
    // The demo is 128 kbit/s, 16 kB/s: about 0.5 s of silence so far (one tick ahead), no more.
    const silence = core.bytes() - delivered;
    const elapsed = (performance.now() - started) / 1000;
    expect(silence).toBeGreaterThan(16_000 * (elapsed - 0.2));
    expect(silence).toBeLessThan(16_000 * (elapsed + 0.25));
    // Frames with the stream's own header: MPEG-1 layer III, no CRC, 128 kbit/s, 44.1 kHz.
    expect([...core.pieces[silenceFrom]!.subarray(0, 3)]).toEqual([0xff, 0xfb, 0x90]);
    input.restart?.('source client reconnected');
    const atRestart = core.bytes();
    await sleep(200);
    expect(core.bytes()).toBe(atRestart);
    expect(core.calls.at(-1)).toBe('restart: source client reconnected');
  });

  it('plays the --fallback file instead, from its start, in each gap', async () => {
    const filler = await fallback({ kind: 'mp3', header: () => null, file: demoSamplePath });
    expect(filler.kind).toBe('file');
    const core = recorder();
    const input = filler.around(core.handlers);
    for (let gap = 1; gap <= 2; gap += 1) {
      const before = core.bytes();
      input.lost?.(`gap ${gap}`);
      await waitFor(() => core.bytes() > before + 4096, `the file in gap ${gap}`);
      expect(core.calls.at(-2)).toMatch(/^restart: fallback: .*demo\.mp3/);
      input.restart?.('back');
      const after = core.bytes();
      await sleep(150);
      expect(core.bytes()).toBe(after);
    }
  });

  it('refuses a --fallback file of another format than the stream, naming the flag', async () => {
    await expect(
      createFallback({ kind: 'ogg', header: () => null, file: demoSamplePath }),
    ).rejects.toMatchObject({
      code: 'P2PSP_ERR_BAD_OPTION',
      message: expect.stringMatching(/^--fallback .*demo\.mp3 is mp3, the stream is ogg/),
    });
    await expect(
      createFallback({ kind: 'mp3', header: () => null, file: '/nonexistent/file.mp3' }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/^--fallback /) });
  });

  it("plays AAC silence under the stream's own ADTS header, at its frame size", async () => {
    const filler = await fallback({ kind: 'aac-adts', header: () => null });
    expect(filler.kind).toBe('silence');
    const core = recorder();
    const input = filler.around(core.handlers);
    input.data(concat(...Array.from({ length: 20 }, () => adtsFrame(400))));
    const delivered = core.bytes();
    input.lost?.('source client left');
    await waitFor(() => core.bytes() > delivered, 'silence');
    const silence = core.pieces.at(-1)!;
    // AAC LC, 44.1 kHz, stereo, no CRC, as the stream; 400-byte frames, as the stream's.
    expect([...silence.subarray(0, 3)]).toEqual([0xff, 0xf1, 0x50]);
    expect(((silence[3]! & 0x03) << 11) | (silence[4]! << 3) | (silence[5]! >> 5)).toBe(400);
  });

  it('fills nothing for a format with no silence and no file: players hear a gap', async () => {
    const filler = await fallback({ kind: 'webm', header: () => null });
    expect(filler.kind).toBe('none');
    const core = recorder();
    filler.around(core.handlers).lost?.('gone');
    expect(core.calls).toEqual(['lost: gone']);
  });

  it('covers a stalled input with silence within its stall bound, and resumes it after its own header', async () => {
    const logged: string[] = [];
    const log = (fields: object, message: string) => {
      logged.push(`${message} ${JSON.stringify(fields)}`);
    };
    const header = Uint8Array.of(1, 2, 3);
    const filler = await fallback({
      kind: 'mp3',
      header: () => header,
      stallMs: 200,
      logger: { info: log, warn: log, debug: log },
    });
    const core = recorder();
    const input = filler.around(core.handlers);
    // Cut mid-frame: the unfinished frame waits in the framer through the stall.
    input.data(demo.subarray(0, 10_000));
    const beforeStall = core.bytes();
    await waitFor(() => core.calls.length > 1, 'the stall');
    expect(core.calls).toEqual([
      'data',
      'restart: fallback: silence while the input is away',
      'data',
    ]);
    expect(logged.find((line) => line.startsWith('ingest-stall'))).toContain(
      '"code":"P2PSP_ERR_INGEST_STALLED"',
    );
    await sleep(300);
    expect(core.bytes() - beforeStall, 'silence during the stall').toBeGreaterThan(4_000);
    const atResume = core.pieces.length;
    input.data(demo.subarray(10_000, 20_000));
    expect(core.calls.slice(-2)).toEqual(['restart: the input resumed after a stall', 'data']);
    // The input's header again, then its frames from where it stopped: no byte lost.
    expect([...core.pieces[atResume]!]).toEqual([1, 2, 3]);
    const resumed = Buffer.concat(core.pieces.slice(atResume + 1));
    expect(resumed.equals(demo.subarray(beforeStall, beforeStall + resumed.byteLength))).toBe(true);
    expect(logged.some((line) => line.startsWith('fallback-stop'))).toBe(true);
  });

  it("waits twice the input's own longest pause before calling it stalled", async () => {
    const filler = await fallback({ kind: 'mp3', header: () => null, stallMs: 700 });
    const core = recorder();
    const input = filler.around(core.handlers);
    // An input that sends every 500 ms (an encoder's long pages): its bound becomes 1 s.
    for (let offset = 0; offset < 3_000; offset += 1_000) {
      await sleep(500);
      input.data(demo.subarray(offset, offset + 1_000));
    }
    await sleep(850);
    expect(core.calls, 'no stall 850 ms after its last bytes').toEqual(['data']);
    await waitFor(() => core.calls.length > 1, 'the stall after twice its pause');
    expect(core.calls[1]).toMatch(/^restart: fallback/);
  });
});
