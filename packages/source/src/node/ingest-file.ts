import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SourceRuntimeError, systemCode } from './errors.js';
import type { IngestHandlers, IngestLogger, OpenedIngest } from './ingest.js';
import { silentIngestLogger } from './ingest.js';

/** One piece of the file and when, in media time from the file's start, it is due. */
export interface PacedPiece {
  readonly bytes: Uint8Array;
  readonly mediaTimeMicros: number;
}

/** Turns file bytes into pieces stamped with their media time (from @p2psp/media). */
export interface StreamPacer {
  push(bytes: Uint8Array): Iterable<PacedPiece>;
}

export interface FileIngestOptions {
  /** Start again at the end of the file (a looping radio); without it the stream ends. */
  readonly loop?: boolean;
  /** Builds a pacer for the detected media type (a fresh one for each pass of a loop). */
  readonly createPacer: (mediaType: string) => StreamPacer;
  readonly logger?: IngestLogger;
  /** Bytes read per read() call. */
  readonly readSize?: number;
}

const HEAD_BYTES = 64 * 1024;

/**
 * Reads a media file and releases it in real time, each piece at its media time, so the
 * cluster sees a live stream (the source cuts chunks as bytes arrive).
 */
export async function openFileIngest(
  path: string,
  options: FileIngestOptions,
): Promise<OpenedIngest> {
  const logger = options.logger ?? silentIngestLogger;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    if (info.size === 0) {
      throw new SourceRuntimeError(
        'P2PSP_ERR_INGEST_EMPTY',
        `--input ${path} is empty: give a media file (MP3, Ogg, WebM), a URL, or - for stdin`,
      );
    }
  } catch (error) {
    if (error instanceof SourceRuntimeError) throw error;
    throw new SourceRuntimeError(
      'P2PSP_ERR_INGEST_FILE',
      `--input ${path} cannot be read (${systemCode(error)}): give an existing media file, an http(s) URL, or - for stdin`,
      { cause: error },
    );
  }
  const handle = await open(path, 'r');
  const head = Buffer.alloc(HEAD_BYTES);
  const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
  await handle.close();
  let stopped = false;
  let wake: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  const run = async (handlers: IngestHandlers, mediaType: string): Promise<void> => {
    const started = performance.now();
    // Media time already played by previous passes of a --loop.
    let offsetMicros = 0;
    const readSize = options.readSize ?? 16 * 1024;
    const buffer = Buffer.alloc(readSize);
    for (let pass = 1; !stopped; pass += 1) {
      const pacer = options.createPacer(mediaType);
      const file = await open(path, 'r');
      let lastMicros = 0;
      let spacingMicros = 0;
      try {
        for (;;) {
          const { bytesRead: count } = await file.read(buffer, 0, readSize, null);
          if (count === 0 || stopped) break;
          for (const piece of pacer.push(Buffer.from(buffer.subarray(0, count)))) {
            if (stopped) return;
            spacingMicros = Math.max(0, piece.mediaTimeMicros - lastMicros);
            lastMicros = piece.mediaTimeMicros;
            const dueAt = started + (offsetMicros + piece.mediaTimeMicros) / 1000;
            const wait = dueAt - performance.now();
            if (wait > 1) await sleep(wait);
            if (stopped) return;
            handlers.data(piece.bytes);
          }
        }
      } finally {
        await file.close();
      }
      if (stopped) return;
      if (!options.loop) {
        handlers.end('end of file');
        return;
      }
      offsetMicros += lastMicros + spacingMicros;
      logger.info({ input: path, pass }, 'ingest-loop');
    }
  };

  return {
    description: path,
    contentType: null,
    fileName: basename(path),
    head: head.subarray(0, bytesRead),
    pipe(handlers, mediaType) {
      run(handlers, mediaType).catch((error: unknown) => {
        if (stopped) return;
        logger.warn({ input: path, code: systemCode(error) }, 'ingest-fail');
        handlers.end(`file read failed: ${systemCode(error)}`);
      });
    },
    stop() {
      stopped = true;
      const wakeNow = wake as (() => void) | null;
      wakeNow?.();
    },
  };
}
