import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openStdinIngest } from './ingest-stdin.js';

// Regression tests of the shared `firstBytes` wait (ingest.ts), driven through stdin.
describe('openStdinIngest', () => {
  it('gives the first bytes as head, then delivers the stream from its first byte', async () => {
    const input = new PassThrough();
    input.write(Buffer.from('OggS first'));
    const ingest = await openStdinIngest(input, 5_000);
    expect(Buffer.from(ingest.head).toString()).toBe('OggS first');
    const delivered: string[] = [];
    const ended = new Promise<string>((resolve) => {
      ingest.pipe(
        { data: (bytes) => delivered.push(Buffer.from(bytes).toString()), end: resolve },
        'audio/ogg',
      );
    });
    input.end(Buffer.from(' second'));
    expect(await ended).toBe('stdin closed');
    expect(delivered.join('')).toBe('OggS first second');
  });

  it('fails with P2PSP_ERR_INGEST_EMPTY when stdin closes before any byte', async () => {
    const input = new PassThrough();
    input.end();
    await expect(openStdinIngest(input, 5_000)).rejects.toMatchObject({
      name: 'SourceRuntimeError',
      code: 'P2PSP_ERR_INGEST_EMPTY',
      kind: 'environment',
      message: expect.stringContaining('closed before any byte'),
    });
  });

  it('fails with P2PSP_ERR_INGEST_EMPTY when nothing comes within the timeout', async () => {
    const input = new PassThrough();
    await expect(openStdinIngest(input, 10)).rejects.toMatchObject({
      code: 'P2PSP_ERR_INGEST_EMPTY',
      message: expect.stringContaining('sent nothing within 10 ms'),
    });
    input.destroy();
  });
});
