import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { errorCode } from '@p2psp/host';
import { SourceRuntimeError } from './errors.js';
import type { IngestHandlers, IngestLogger, OpenedIngest } from './ingest.js';
import { silentIngestLogger } from './ingest.js';

/** The part of @p2psp/media's `Pacer` the file ingest drives. */
export interface StreamPacer {
  push(bytes: Uint8Array): readonly PacedPiece[];
  end(): readonly PacedPiece[];
  restart(): readonly PacedPiece[];
}

export interface PacedPiece {
  readonly bytes: Uint8Array;
  /** Media time from the start of the first pass at which to release the piece. */
  readonly mediaTimeMicros: number;
  /**
   * `header` pieces are the stream header (passed on as such), `metadata` pieces (ID3 tags)
   * are not part of the stream and are dropped.
   */
  readonly role: 'header' | 'metadata' | 'media';
}

export interface FileIngestOptions {
  /** Start again at the end of the file (a looping radio); without it the stream ends. */
  readonly loop?: boolean;
  /**
   * Builds the pacer (one for all passes of a loop) from the file's first bytes, so the
   * media type can be sniffed first. May throw (e.g. --bitrate needed): opening fails.
   */
  readonly createPacer: (head: Uint8Array) => StreamPacer;
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
      `--input ${path} cannot be read (${errorCode(error)}): give an existing media file, an http(s) URL, or - for stdin`,
      { cause: error },
    );
  }
  const handle = await open(path, 'r');
  const head = Buffer.alloc(HEAD_BYTES);
  const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
  await handle.close();
  // Built now, so a missing --bitrate fails at start-up, not when streaming begins.
  const pacer = options.createPacer(head.subarray(0, bytesRead));
  let stopped = false;
  // stop() aborts it: a sleep in progress ends at once, and none waits after that.
  const stopping = new AbortController();

  const sleep = (ms: number): Promise<void> =>
    delay(ms, undefined, { signal: stopping.signal }).catch(() => {});

  const run = async (handlers: IngestHandlers, pacer: StreamPacer): Promise<void> => {
    const started = performance.now();
    const readSize = options.readSize ?? 16 * 1024;
    const buffer = Buffer.alloc(readSize);
    const release = async (pieces: readonly PacedPiece[]): Promise<void> => {
      for (const piece of pieces) {
        if (stopped) return;
        // ID3 tags and the like are file metadata, not stream: players must not get them.
        if (piece.role === 'metadata') continue;
        const wait = started + piece.mediaTimeMicros / 1000 - performance.now();
        if (wait > 1) await sleep(wait);
        if (stopped) return;
        handlers.data(piece.bytes, piece.role);
      }
    };
    for (let pass = 1; !stopped; pass += 1) {
      const file = await open(path, 'r');
      try {
        for (;;) {
          const { bytesRead: count } = await file.read(buffer, 0, readSize, null);
          if (count === 0 || stopped) break;
          await release(pacer.push(Buffer.from(buffer.subarray(0, count))));
        }
      } finally {
        await file.close();
      }
      if (stopped) return;
      if (!options.loop) {
        await release(pacer.end());
        if (!stopped) handlers.end('end of file');
        return;
      }
      // The pacer keeps the media clock (and Ogg serials) running across passes.
      await release(pacer.restart());
      logger.info({ input: path, pass }, 'ingest-loop');
    }
  };

  return {
    description: path,
    contentType: null,
    fileName: basename(path),
    head: head.subarray(0, bytesRead),
    pipe(handlers) {
      run(handlers, pacer).catch((error: unknown) => {
        if (stopped) return;
        logger.warn({ input: path, code: errorCode(error) }, 'ingest-fail');
        handlers.end(`file read failed: ${errorCode(error)}`);
      });
    },
    stop() {
      stopped = true;
      stopping.abort();
    },
  };
}
