import type { Readable } from 'node:stream';
import { firstBytes, type IngestHandlers, type OpenedIngest } from './ingest.js';

/**
 * Reads the stream from stdin (`--input -`), paced by its producer: e.g.
 * `ffmpeg -re -i music.flac -c:a libopus -f ogg - | p2psp source --input -`.
 */
export async function openStdinIngest(
  input: Readable = process.stdin,
  timeoutMs = 30_000,
): Promise<OpenedIngest> {
  const head = await firstBytes(input, timeoutMs, {
    silent: `--input - (stdin) sent nothing within ${timeoutMs} ms: pipe a live stream in, e.g. ffmpeg -re -i FILE -f ogg - | p2psp source --input -`,
    ended:
      '--input - (stdin) closed before any byte: pipe a live stream in, e.g. ffmpeg -re -i FILE -f ogg - | p2psp source --input -',
  });
  let stopped = false;
  return {
    description: 'stdin',
    contentType: null,
    fileName: null,
    head,
    pipe(handlers: IngestHandlers) {
      handlers.data(head);
      input.on('data', (bytes: Buffer) => {
        if (!stopped) handlers.data(bytes);
      });
      input.on('end', () => {
        if (!stopped) handlers.end('stdin closed');
      });
      input.on('error', () => {
        if (!stopped) handlers.end('stdin failed');
      });
      input.resume();
    },
    stop() {
      stopped = true;
      input.pause();
      if (input !== process.stdin) input.destroy();
    },
  };
}
