import { describe, expect, it } from 'vitest';
import { createInProcessIngest } from './ingest-in-process.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('createInProcessIngest', () => {
  it('opens at the first header, replays what came before pipe, restarts on a new header, ends', async () => {
    const { input, opened } = createInProcessIngest('liberated peer');
    input.data(text('before any header: dropped'));
    input.header('audio/ogg', text('OggS head'));
    input.data(text(' page1'));
    const ingest = await opened;
    expect(ingest).toMatchObject({ description: 'liberated peer', contentType: 'audio/ogg' });
    expect(new TextDecoder().decode(ingest.head)).toBe('OggS head');
    const calls: string[] = [];
    ingest.pipe(
      {
        data: (bytes) => calls.push(new TextDecoder().decode(bytes)),
        restart: (reason) => calls.push(`restart: ${reason}`),
        end: (reason) => calls.push(`end: ${reason}`),
      },
      'audio/ogg',
    );
    input.data(text(' page2'));
    input.header('audio/ogg', text('OggS new head'));
    input.end();
    expect(calls).toEqual([
      'OggS head',
      ' page1',
      ' page2',
      'restart: new stream header',
      'OggS new head',
      'end: in-process input ended',
    ]);
    ingest.stop();
    input.data(text('after stop'));
    expect(calls).toHaveLength(6);
  });
});
