/** Where the ingest delivers the stream, in order. */
export interface IngestHandlers {
  data(bytes: Uint8Array): void;
  /** The ingest is over for good (end of file without --loop, stdin closed). */
  end(reason: string): void;
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
