import { performance } from 'node:perf_hooks';
import {
  createPacer,
  createSilence,
  detectMediaType,
  type MediaKind,
  type Pacer,
  type Silence,
} from '@p2psp/media';
import { SourceRuntimeError } from './errors.js';
import {
  type IngestHandlers,
  type IngestLogger,
  type OpenedIngest,
  silentIngestLogger,
} from './ingest.js';
import { openFileIngest } from './ingest-file.js';
import { createStreamPacer } from './media.js';

export type IngestState = 'live' | 'stalled' | 'lost';

/** Where a gap filler feeds the stream: the calls an ingest makes. */
type FeedTarget = Pick<IngestHandlers, 'data' | 'restart'>;

/** One way to fill a gap: silence, or the `--fallback` file. */
interface Feed {
  start(to: FeedTarget, streamStart: Uint8Array): boolean;
  stop(): void;
}

/**
 * Fills the gaps of a live input (a source client that left, an HTTP input reconnecting)
 * so peers and their players get a stream they can play rather than nothing.
 */
export interface Fallback {
  /** What fills a gap: silence in the stream's format, the `--fallback` file, or nothing. */
  readonly kind: 'silence' | 'file' | 'none';
  /** The input delivers (`live`), or the fallback covers it: `stalled` (silent) or `lost`. */
  state(): IngestState;
  /**
   * Handlers that pass the input on to `to` and fill its gaps: on `lost` the fallback
   * starts (a restart first: the gap is a new stream); on the input's `restart` or `end`
   * it stops at once.
   */
  around(to: IngestHandlers): IngestHandlers;
  /** Stops a running fallback (the source stops). */
  stop(): void;
}

export interface FallbackOptions {
  readonly kind: MediaKind;
  /** The stream header players have now (the core's capture): silence must follow it. */
  readonly header: () => Uint8Array | null;
  /** A media file of the same kind, played from its start (looped) in each gap. */
  readonly file?: string | undefined;
  readonly logger?: IngestLogger;
  /**
   * An input that sends nothing for this long (default 2 s) is stalled: the fallback plays
   * until its bytes come again. Twice the input's own longest pause is waited for when that
   * is longer (an encoder writing 1 s Ogg pages, a WebM muxer whole clusters), up to 8 s.
   */
  readonly stallMs?: number;
}

/** Recent input kept for the silence to copy (an MP3 frame header); a few frames. */
const TAIL_BYTES = 16 * 1024;

/** Silence is released this far ahead of the wall clock, as an encoder would send it. */
const TICK_MS = 50;

const DEFAULT_STALL_MS = 2000;
/** The longest stall bound an input's slow cadence can stretch `stallMs` to. */
const MAX_STALL_MS = 8000;

const EMPTY = new Uint8Array(0);

function silenceFeed(kind: MediaKind): Feed {
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return {
    start(to, streamStart) {
      stop();
      const silence: Silence | null = createSilence(kind, streamStart);
      if (silence === null) return false;
      to.restart?.('fallback: silence while the input is away');
      // Plain data: after the restart the core captures the header from it, as from an input.
      if (silence.header.byteLength > 0) to.data(silence.header);
      const startedAt = performance.now();
      let releasedMicros = 0;
      const tick = () => {
        const dueMicros = (performance.now() - startedAt + TICK_MS) * 1000;
        while (releasedMicros < dueMicros) {
          const piece = silence.next();
          to.data(piece.bytes);
          releasedMicros += piece.durationMicros;
        }
        timer = setTimeout(tick, TICK_MS);
      };
      tick();
      return true;
    },
    stop,
  };
}

function fileFeed(path: string, kind: MediaKind, logger: IngestLogger): Feed {
  let current: OpenedIngest | null = null;
  /** Bumped by stop(): a file still opening for an older gap is closed unused. */
  let generation = 0;
  const stop = () => {
    generation += 1;
    current?.stop();
    current = null;
  };
  return {
    start(to) {
      stop();
      const mine = generation;
      openFallbackFile(path, kind).then(
        (opened) => {
          if (mine !== generation) return opened.stop();
          current = opened;
          to.restart?.(`fallback: ${path} while the input is away`);
          opened.pipe({ data: to.data, end: () => {} }, '');
        },
        (error: unknown) => logger.warn({ fallback: path, reason: String(error) }, 'fallback-fail'),
      );
      return true;
    },
    stop,
  };
}

/** Opens the fallback file, looped and paced, checking it has the stream's kind. */
async function openFallbackFile(path: string, kind: MediaKind): Promise<OpenedIngest> {
  try {
    return await openFileIngest(path, {
      loop: true,
      createPacer: (head) => {
        const fileKind = detectMediaType({ fileName: path, firstBytes: head }).kind;
        if (fileKind !== kind) {
          throw new SourceRuntimeError(
            'P2PSP_ERR_BAD_OPTION',
            `--fallback ${path} is ${fileKind === 'unknown' ? 'not a media file p2psp knows' : fileKind}, the stream is ${kind}: give a file of the stream's format`,
          );
        }
        return createStreamPacer(kind, { loop: true });
      },
    });
  } catch (error) {
    if (!(error instanceof SourceRuntimeError)) throw error;
    // The file ingest names its flag --input; here the file came from --fallback.
    throw new SourceRuntimeError(error.code, error.message.replaceAll('--input', '--fallback'), {
      cause: error,
    });
  }
}

/** A copy of the last bytes of the input, for the silence to copy its frame parameters. */
function tailKeeper() {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  return {
    push(data: Uint8Array) {
      parts.push(data);
      bytes += data.byteLength;
      while (parts.length > 1 && bytes - parts[0]!.byteLength >= TAIL_BYTES) {
        bytes -= parts.shift()!.byteLength;
      }
    },
    take(): Uint8Array {
      const all = Buffer.concat(parts);
      parts = [];
      bytes = 0;
      return all;
    },
  };
}

/**
 * Cuts a live input at whole frames or pages (@p2psp/media's pacer, its timing unused), so
 * a gap never leaves a partial frame before the fallback or the next stream: players would
 * decode it with the next frame's bytes. Kinds it cannot frame pass through whole.
 */
function framer(kind: MediaKind, logger: IngestLogger) {
  let pacer: Pacer | null = null;
  const reset = () => {
    const created = createPacer(kind);
    pacer = created.ok ? created.pacer : null;
  };
  reset();
  return {
    push(bytes: Uint8Array): readonly Uint8Array[] {
      if (pacer === null) return [bytes];
      try {
        return pacer.push(bytes).map((piece) => piece.bytes);
      } catch (error) {
        // Not the container it claimed to be: pass the rest through as it comes.
        logger.warn({ reason: String(error) }, 'ingest-unframed');
        pacer = null;
        return [bytes];
      }
    },
    /** A new stream starts (a gap or a restart): an unfinished frame is dropped. */
    reset,
  };
}

/**
 * The fallback for a stream: the `--fallback` file when given (checked now, so a wrong
 * file fails at start), else silence in the stream's format when @p2psp/media can make it
 * (MP3, Ogg Opus, AAC), else none: players then hear a gap until the input comes back.
 */
export async function createFallback(options: FallbackOptions): Promise<Fallback> {
  const logger = options.logger ?? silentIngestLogger;
  let feed: Feed | null = null;
  let kind: Fallback['kind'] = 'none';
  if (options.file !== undefined) {
    (await openFallbackFile(options.file, options.kind)).stop();
    feed = fileFeed(options.file, options.kind, logger);
    kind = 'file';
  } else if (options.kind === 'mp3' || options.kind === 'ogg' || options.kind === 'aac-adts') {
    feed = silenceFeed(options.kind);
    kind = 'silence';
  }
  const tail = tailKeeper();
  const frames = framer(options.kind, logger);
  let since: number | null = null;
  const stop = (why: string) => {
    feed?.stop();
    if (since === null) return;
    logger.info(
      { fallback: kind, why, ms: Math.round(performance.now() - since) },
      'fallback-stop',
    );
    since = null;
  };
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  /** `live` while the input delivers; `stalled` or `lost` while the fallback covers it. */
  let state: IngestState = 'live';
  let lastData: number | null = null;
  /** The input's longest pause shorter than the bound: its own cadence, no stall. */
  let longestPause = 0;
  let stallTimer: NodeJS.Timeout | null = null;
  /** The input's header when it stalled: it comes again before the input resumes. */
  let stalledHeader: Uint8Array = EMPTY;
  const stallBound = () => Math.min(MAX_STALL_MS, Math.max(stallMs, 2 * longestPause));
  const stopWatch = () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = null;
  };
  return {
    kind,
    state: () => state,
    around(to) {
      const startFeed = (reason: string): void => {
        const header = options.header() ?? EMPTY;
        const started = feed?.start(to, Buffer.concat([header, tail.take()])) ?? false;
        if (started) since = performance.now();
        logger.warn({ reason, fallback: started ? kind : 'none' }, 'fallback-start');
      };
      const watch = (): void => {
        stallTimer = null;
        if (state !== 'live' || lastData === null) return;
        const quiet = performance.now() - lastData;
        if (quiet < stallBound()) {
          stallTimer = setTimeout(watch, stallBound() - quiet);
          return;
        }
        state = 'stalled';
        stalledHeader = options.header() ?? EMPTY;
        const reason = `the input sent no bytes for ${Math.round(quiet)} ms`;
        logger.warn({ code: 'P2PSP_ERR_INGEST_STALLED', reason }, 'ingest-stall');
        // The unfinished frame stays in the framer: the input may go on with the rest of it.
        startFeed(reason);
      };
      return {
        data(bytes, role) {
          const now = performance.now();
          if (state === 'stalled') {
            state = 'live';
            logger.info({ ms: Math.round(now - (lastData ?? now)) }, 'ingest-resume');
            if (since !== null) {
              // The fallback made a new stream: the input's goes on as the next one, after
              // its own header again (for Ogg a chain link of the old serial, RFC 3533 §4).
              stop('the input resumed');
              to.restart?.('the input resumed after a stall');
              if (stalledHeader.byteLength > 0) {
                to.data(stalledHeader, role === undefined ? undefined : 'header');
              }
            }
          } else if (state === 'live' && lastData !== null) {
            longestPause = Math.max(longestPause, now - lastData);
          }
          lastData = now;
          // Without a feed a stall changes nothing for players: not watched.
          if (stallTimer === null && feed !== null) stallTimer = setTimeout(watch, stallBound());
          // A file ingest's pieces come whole, with their role; a live input's are cut anywhere.
          for (const piece of role === undefined ? frames.push(bytes) : [bytes]) {
            tail.push(piece);
            to.data(piece, role);
          }
        },
        restart(reason) {
          stop(reason);
          state = 'live';
          // The new stream's first bytes are due now, at its own cadence.
          lastData = performance.now();
          longestPause = 0;
          frames.reset();
          to.restart?.(reason);
        },
        lost(reason) {
          const covered = state !== 'live';
          state = 'lost';
          stopWatch();
          frames.reset();
          to.lost?.(reason);
          // Already covered (a stall, or a reconnect that failed again): the fallback goes on.
          if (!covered) startFeed(reason);
        },
        end(reason) {
          stopWatch();
          stop(reason);
          to.end(reason);
        },
      };
    },
    stop: () => {
      stopWatch();
      stop('source stopped');
    },
  };
}
