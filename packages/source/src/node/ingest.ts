import type { Readable } from 'node:stream';
import type { StreamInfo } from '@p2psp/wire';
import { SourceRuntimeError } from './errors.js';

/** Where the ingest delivers the stream, in order. */
export interface IngestHandlers {
  /**
   * The next stream bytes. `role` when the ingest tells the header from the media itself
   * (a file's pacer): passed on to the core, which then does not search the header again.
   */
  data(bytes: Uint8Array, role?: 'header' | 'media'): void;
  /**
   * The ingest reconnected (HTTP): the next `data` starts a new stream from its beginning,
   * with its own header (an Icecast mount whose source client came back starts a new Ogg
   * stream). Called before the new connection's first bytes.
   */
  restart?(reason: string): void;
  /**
   * The input is gone for now (a pushed source client left, an HTTP input dropped) and may
   * come back: `restart` comes first if it does. The cluster keeps running meanwhile.
   */
  lost?(reason: string): void;
  /** The ingest is over for good (end of file without --loop, stdin closed). */
  end(reason: string): void;
  /**
   * What the input says about the stream: a new title (ICY `StreamTitle`, a source client's
   * `/admin/metadata`), the station's info (`ice-*` or `icy-*` headers).
   */
  metadata?(update: { readonly title?: string; readonly info?: StreamInfo }): void;
}

/** A minimal logger (a pino logger fits). */
export interface IngestLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** An ingest that is open and has shown its first bytes, not yet delivering. */
export interface OpenedIngest {
  /** For logs: the URL, the file path or `stdin`. */
  readonly description: string;
  /** The Content-Type the server announced, if any. */
  readonly contentType: string | null;
  /** The file name (for the extension), if any. */
  readonly fileName: string | null;
  /** The first bytes of the stream, to sniff the media type. `pipe` delivers them again. */
  readonly head: Uint8Array;
  /** Starts delivering the whole stream (from its first byte) to `handlers`. */
  pipe(handlers: IngestHandlers, mediaType: string): void;
  /** Stops reading; no more handler calls after this. */
  stop(): void;
}

export const silentIngestLogger: IngestLogger = { info() {}, warn() {}, debug() {} };

/**
 * Waits for the first bytes of an ingest (sniffing the media type needs them), then pauses
 * it so `pipe` can deliver from the first byte. Rejects with `P2PSP_ERR_INGEST_EMPTY` and
 * the given message when nothing comes within `timeoutMs` (`silent`) or the input ends or
 * fails first (`ended`).
 */
export function firstBytes(
  input: Readable,
  timeoutMs: number,
  messages: { readonly silent: string; readonly ended: string },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new SourceRuntimeError('P2PSP_ERR_INGEST_EMPTY', messages.silent));
    }, timeoutMs);
    const onData = (bytes: Buffer) => {
      cleanup();
      input.pause();
      resolve(bytes);
    };
    const onEnd = () => {
      cleanup();
      reject(new SourceRuntimeError('P2PSP_ERR_INGEST_EMPTY', messages.ended));
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
}
