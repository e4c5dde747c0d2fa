import type { Readable } from 'node:stream';
import { SourceRuntimeError } from './errors.js';
import type { IngestHandlers, OpenedIngest } from './ingest.js';

/**
 * Reads the stream from stdin (`--input -`), paced by its producer: e.g.
 * `ffmpeg -re -i music.flac -c:a libopus -f ogg - | p2psp source --input -`.
 */
export async function openStdinIngest(
  input: Readable = process.stdin,
  timeoutMs = 30_000,
): Promise<OpenedIngest> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new SourceRuntimeError(
          'P2PSP_ERR_INGEST_EMPTY',
          `--input - (stdin) sent nothing within ${timeoutMs} ms: pipe a live stream in, e.g. ffmpeg -re -i FILE -f ogg - | p2psp source --input -`,
        ),
      );
    }, timeoutMs);
    const onData = (bytes: Buffer) => {
      cleanup();
      input.pause();
      resolve(bytes);
    };
    const onEnd = () => {
      cleanup();
      reject(
        new SourceRuntimeError(
          'P2PSP_ERR_INGEST_EMPTY',
          '--input - (stdin) closed before any byte: pipe a live stream in, e.g. ffmpeg -re -i FILE -f ogg - | p2psp source --input -',
        ),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onEnd);
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onEnd);
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
