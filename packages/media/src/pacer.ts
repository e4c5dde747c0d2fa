import {
  ADTS,
  type AudioFrameFormat,
  type AudioFrameHeader,
  checkConfirmedFrame,
  isMp3InformationFrame,
  MPEG_AUDIO,
} from './audio-frames.js';
import { ByteWindow, writeInt64LittleEndian, writeUint32LittleEndian } from './bytes.js';
import { oggCrc32 } from './crc32.js';
import { MediaError } from './errors.js';
import { createHeaderCapture, type HeaderCapture } from './header-capture.js';
import { id3v2TagLength } from './id3.js';
import type { MediaKind } from './media-type.js';
import {
  FLAG_BEGINNING_OF_STREAM,
  FLAG_END_OF_STREAM,
  firstPacketLength,
  granuleToMicros,
  identifyOggStream,
  isHeaderPage,
  type OggPage,
  type OggStreamInfo,
  parseOggPage,
} from './ogg.js';
import { WebmLoopState, type WebmPiece, WebmSplitter } from './webm-pacing.js';

export interface PacerOptions {
  /**
   * Constant bit rate in bits/s, for streams whose timing this package cannot read (unknown
   * containers, Ogg streams of an unknown codec, WebM it cannot walk). Ignored when the
   * container has its own timing.
   */
  readonly bitrate?: number | undefined;
  /**
   * The file will be played in a loop (`restart()` after each pass): keep the output one
   * continuous stream (see the README's "Looping" section). Default false.
   */
  readonly loop?: boolean | undefined;
  /** Size of the pieces cut by bit-rate pacing. Default: 50 ms of media at `bitrate`. */
  readonly pieceBytes?: number | undefined;
  /**
   * The pieces feed a live stream players join mid-way (a P2PSP source): the `header`
   * pieces are then exactly the header such a player needs, as `createHeaderCapture` finds
   * it (WebM: the Segment size is written "unknown"), so the caller need not capture it
   * again. Default false: without `loop`, every input byte comes out unchanged.
   */
  readonly lateJoinerHeader?: boolean | undefined;
}

/** What a piece is, so a source can tell the stream header and droppable metadata apart. */
export type PieceRole = 'header' | 'metadata' | 'media';

export interface PacedPiece {
  readonly bytes: Uint8Array;
  /** Media time at which the piece's content starts: release it when the clock reaches this. */
  readonly mediaTimeMicros: number;
  /** Media time the piece covers (0 for headers and metadata). */
  readonly durationMicros: number;
  readonly role: PieceRole;
}

/**
 * Cuts a file into whole pages/frames, each with the media time at which to release it. Pure:
 * the caller owns the clock (release piece p when `now - start >= p.mediaTimeMicros`).
 */
export interface Pacer {
  /** Feeds the next file bytes (any slicing); returns the pieces now complete, in order. */
  push(bytes: Uint8Array): PacedPiece[];
  /** The file ended: returns the remaining bytes as pieces. */
  end(): PacedPiece[];
  /**
   * Starts a new pass over the file (for `--loop`): parsing restarts at the file's first
   * byte, the media clock continues from `mediaTimeMicros`. Flushes like `end()` first.
   */
  restart(): PacedPiece[];
  /** Media time at the end of everything emitted so far (total duration after `end()`). */
  readonly mediaTimeMicros: number;
  /** Where the times come from. */
  readonly timing: 'container' | 'bitrate';
  /** Passes started so far (1 before any `restart()`). */
  readonly pass: number;
}

export type PacerCreation =
  | { readonly ok: true; readonly pacer: Pacer }
  | { readonly ok: false; readonly error: MediaError };

/** One pass over the file; times are relative to the pass start. */
interface PassParser {
  push(bytes: Uint8Array): PacedPiece[];
  end(): PacedPiece[];
}

interface PassContext {
  readonly pass: number;
  readonly loop: boolean;
  readonly lateJoinerHeader: boolean;
  readonly bitrate: number | undefined;
  readonly pieceBytes: number;
}

/**
 * Creates a pacer. Ogg (granule positions), MP3 and ADTS (frame durations) and WebM (block
 * timestamps) carry their own timing; an unknown stream needs `bitrate`, else the result is
 * an error with code P2PSP_ERR_MEDIA_BITRATE_REQUIRED whose message tells the user to pass
 * --bitrate.
 */
export function createPacer(kind: MediaKind, options: PacerOptions = {}): PacerCreation {
  const { bitrate, loop = false, lateJoinerHeader = false } = options;
  if (bitrate !== undefined && (!Number.isFinite(bitrate) || bitrate < 1000 || bitrate > 1e9)) {
    return invalidOption(
      `bitrate must be between 1000 and 1000000000 bits/s, got ${String(bitrate)}`,
    );
  }
  const hasOwnTiming = kind !== 'unknown';
  if (!hasOwnTiming && bitrate === undefined) {
    return {
      ok: false,
      error: new MediaError(
        'P2PSP_ERR_MEDIA_BITRATE_REQUIRED',
        "cannot pace this input in real time: its media type is unknown (not Ogg, WebM, MP3 or ADTS AAC), so its timing cannot be read; pass --bitrate <bits/s> (e.g. --bitrate 128000) with the stream's bit rate",
      ),
    };
  }
  const pieceBytes =
    options.pieceBytes ??
    (bitrate === undefined ? 4096 : Math.max(188, Math.round(bitrate / 8 / 20)));
  if (!Number.isInteger(pieceBytes) || pieceBytes < 1) {
    return invalidOption(`pieceBytes must be a positive integer, got ${String(pieceBytes)}`);
  }
  const makePass = (context: PassContext, previous: PassParser | undefined): PassParser => {
    switch (kind) {
      case 'ogg':
        return new OggPass(
          context,
          previous instanceof OggPass ? previous.loopState : new OggLoopState(),
        );
      case 'mp3':
        return new FramePass(MPEG_AUDIO, context);
      case 'aac-adts':
        return new FramePass(ADTS, context);
      case 'webm':
        return new WebmPass(
          context,
          previous instanceof WebmPass ? previous.loopState : new WebmLoopState(),
        );
      default:
        return new BitratePass(context);
    }
  };

  let pass = 1;
  let passBase = 0;
  let clock = 0;
  let parser = makePass({ pass, loop, lateJoinerHeader, bitrate, pieceBytes }, undefined);
  let ended = false;
  const place = (pieces: PacedPiece[]): PacedPiece[] =>
    pieces.map((piece) => {
      const placed = { ...piece, mediaTimeMicros: passBase + piece.mediaTimeMicros };
      clock = Math.max(clock, placed.mediaTimeMicros + placed.durationMicros);
      return placed;
    });
  const pacer: Pacer = {
    get mediaTimeMicros() {
      return clock;
    },
    get pass() {
      return pass;
    },
    timing: hasOwnTiming ? 'container' : 'bitrate',
    push(bytes) {
      if (ended) return [];
      return place(parser.push(bytes));
    },
    end() {
      if (ended) return [];
      ended = true;
      return place(parser.end());
    },
    restart() {
      const flushed = pacer.end();
      pass += 1;
      passBase = clock;
      parser = makePass({ pass, loop, lateJoinerHeader, bitrate, pieceBytes }, parser);
      ended = false;
      return flushed;
    },
  };
  return { ok: true, pacer };
}

function invalidOption(message: string): PacerCreation {
  return { ok: false, error: new MediaError('P2PSP_ERR_MEDIA_INVALID_OPTION', message) };
}

/** Constant bit rate: time = bytes * 8 / bitrate, in slices of `pieceBytes`. */
class BitratePass implements PassParser {
  private mediaBytes = 0;

  constructor(private readonly context: PassContext) {}

  push(bytes: Uint8Array): PacedPiece[] {
    const pieces: PacedPiece[] = [];
    const bitrate = this.context.bitrate!;
    for (let offset = 0; offset < bytes.length; offset += this.context.pieceBytes) {
      const piece = bytes.slice(offset, offset + this.context.pieceBytes);
      const start = Math.round((this.mediaBytes * 8 * 1e6) / bitrate);
      this.mediaBytes += piece.length;
      const end = Math.round((this.mediaBytes * 8 * 1e6) / bitrate);
      pieces.push({
        bytes: piece,
        mediaTimeMicros: start,
        durationMicros: end - start,
        role: 'media',
      });
    }
    return pieces;
  }

  end(): PacedPiece[] {
    return [];
  }
}

/**
 * MP3 and ADTS: one piece per frame, timed by the sum of the previous frames' durations
 * (samples per frame / sample rate, read from each header, so VBR needs nothing special).
 */
class FramePass implements PassParser {
  private readonly window = new ByteWindow();
  private inSync = false;
  private signature = -1;
  private micros = 0;
  private tagChecked = false;
  private framesSeen = 0;
  private mediaFramesSeen = 0;

  constructor(
    private readonly format: AudioFrameFormat,
    private readonly context: PassContext,
  ) {}

  push(bytes: Uint8Array): PacedPiece[] {
    this.window.append(bytes);
    return this.drain(false);
  }

  end(): PacedPiece[] {
    const pieces = this.drain(true);
    const rest = this.window.bytes;
    if (rest.length > 0) this.emitMetadata(pieces, rest.slice());
    this.window.clear();
    return pieces;
  }

  private drain(atEnd: boolean): PacedPiece[] {
    const pieces: PacedPiece[] = [];
    if (!this.tagChecked) {
      const tagLength = id3v2TagLength(this.window.bytes, 0);
      if (tagLength === undefined && !atEnd) return pieces;
      this.tagChecked = true;
      if (tagLength !== undefined && tagLength > 0) {
        if (this.window.bytes.length < tagLength && !atEnd) {
          this.tagChecked = false;
          return pieces;
        }
        const tag = this.window.slice(this.window.first, this.window.first + tagLength);
        this.window.discardBefore(this.window.first + tag.length);
        this.emitMetadata(pieces, tag);
      }
    }
    for (;;) {
      const bytes = this.window.bytes;
      if (bytes.length === 0) return pieces;
      if (this.inSync) {
        const header = this.format.parse(bytes, 0);
        if (header !== undefined && header.streamSignature === this.signature) {
          if (bytes.length < header.length) return pieces;
          this.emitFrame(pieces, header);
          continue;
        }
        if (header === undefined && bytes.length < this.format.minimumHeaderBytes && !atEnd) {
          return pieces;
        }
        this.inSync = false;
      }
      const check = checkConfirmedFrame(this.format, bytes, 0);
      if (check.status === 'frame') {
        this.inSync = true;
        this.signature = check.header.streamSignature;
        this.emitFrame(pieces, check.header);
        continue;
      }
      if (check.status === 'need-more' && !atEnd) return pieces;
      // Not a frame here: skip to the next candidate, passing the skipped bytes on as metadata.
      let next = 1;
      for (; next < bytes.length; next++) {
        if (bytes[next] !== this.format.syncByte) continue;
        const status = checkConfirmedFrame(this.format, bytes, next).status;
        if (status === 'frame' || (status === 'need-more' && !atEnd)) break;
      }
      this.emitMetadata(pieces, this.window.slice(this.window.first, this.window.first + next));
      this.window.discardBefore(this.window.first + next);
    }
  }

  private emitFrame(pieces: PacedPiece[], header: AudioFrameHeader): void {
    const start = this.window.first;
    const bytes = this.window.slice(start, start + header.length);
    this.window.discardBefore(start + header.length);
    const isFirst = this.framesSeen === 0;
    this.framesSeen += 1;
    if (isFirst && this.format === MPEG_AUDIO && isMp3InformationFrame(bytes, 0, header)) {
      // A Xing/Info/VBRI tag frame decodes to nothing.
      this.emitMetadata(pieces, bytes);
      return;
    }
    this.mediaFramesSeen += 1;
    const startMicros = this.micros;
    this.micros += (header.samples * 1e6) / header.sampleRate;
    pieces.push({
      bytes,
      mediaTimeMicros: Math.round(startMicros),
      durationMicros: Math.round(this.micros) - Math.round(startMicros),
      role: 'media',
    });
  }

  private emitMetadata(pieces: PacedPiece[], bytes: Uint8Array): void {
    // Looping: tags and junk would sit mid-stream and upset decoders; only the leading ones
    // of the first pass go out.
    if (this.context.loop && (this.context.pass > 1 || this.mediaFramesSeen > 0)) return;
    pieces.push({
      bytes,
      mediaTimeMicros: Math.round(this.micros),
      durationMicros: 0,
      role: 'metadata',
    });
  }
}

/** Per logical stream rewriting state kept across loop passes. */
class OggLoopState {
  /** serial -> next page sequence number to write. */
  readonly nextSequence = new Map<number, number>();
  /** serial -> what the previous passes add, in samples (Theora: frames). */
  readonly granuleOffset = new Map<number, bigint>();
  /** serial -> last granule of the current pass (original numbering). */
  readonly lastGranule = new Map<number, bigint>();
  readonly streams = new Map<number, OggStreamInfo>();
}

/**
 * Granules as a plain count: Theora's granule is (keyframe number << shift) | frames since
 * it (Theora spec section 6.2), so its count is the sum of both parts.
 */
function granuleCount(info: OggStreamInfo | undefined, granule: bigint): bigint {
  if (info?.theora === undefined) return granule;
  const shift = BigInt(info.theora.keyframeShift);
  return (granule >> shift) + (granule & ((1n << shift) - 1n));
}

function addToGranule(info: OggStreamInfo | undefined, granule: bigint, count: bigint): bigint {
  if (info?.theora === undefined) return granule + count;
  const shift = BigInt(info.theora.keyframeShift);
  return (((granule >> shift) + count) << shift) | (granule & ((1n << shift) - 1n));
}

interface OggStreamState {
  readonly info: OggStreamInfo;
  /** Page sequence delta applied this pass (loop rewriting). */
  sequenceDelta: number | undefined;
}

/** Above this, a first page's end time means the file was cut from a longer stream. */
const CUT_STREAM_THRESHOLD_MICROS = 10_000_000;

/**
 * Ogg: one piece per page. A page is released at the end time of the previous page of the
 * clock stream (the first stream whose granules count time: Opus 48 kHz minus pre-skip, RFC
 * 7845 section 4; Vorbis/FLAC/Speex samples at the header's rate; Theora frames).
 */
class OggPass implements PassParser {
  private readonly window = new ByteWindow();
  private readonly streams = new Map<number, OggStreamState>();
  private clockSerial: number | undefined;
  private micros = 0;
  /** Added to granule times: chains (a BOS after data) continue the clock. */
  private chainBase = 0;
  /** Subtracted from granule times of a file cut from a longer stream. */
  private granuleBase: number | undefined;
  private seenMediaPage = false;
  private bytesTimedByBitrate = 0;
  /**
   * Tells the header pages at the start of the pass: the header a late joiner needs, found
   * by `createHeaderCapture` as a source finds it in any other ingest, so a source can take
   * the pieces tagged `header` as that header without parsing them again. Null once decided.
   */
  private leadingHeader: HeaderCapture | null = createHeaderCapture('ogg');
  private leadingBytes = 0;

  constructor(
    private readonly context: PassContext,
    readonly loopState: OggLoopState,
  ) {
    if (context.pass > 1) {
      for (const [serial, last] of loopState.lastGranule) {
        // Vorbis trims the last block by lowering the final granule (Vorbis I spec A.2), so
        // the previous pass may decode up to half a long block (4096 samples) past it: leave
        // that gap so timestamps keep increasing.
        const info = loopState.streams.get(serial);
        const gap = info?.codec === 'vorbis' ? 4096n : 0n;
        loopState.granuleOffset.set(
          serial,
          (loopState.granuleOffset.get(serial) ?? 0n) + granuleCount(info, last) + gap,
        );
      }
      loopState.lastGranule.clear();
    }
  }

  push(bytes: Uint8Array): PacedPiece[] {
    this.window.append(bytes);
    return this.drain(false);
  }

  end(): PacedPiece[] {
    const pieces = this.drain(true);
    const rest = this.window.bytes;
    if (rest.length > 0 && !this.context.loop) {
      pieces.push({
        bytes: rest.slice(),
        mediaTimeMicros: Math.round(this.micros),
        durationMicros: 0,
        role: 'metadata',
      });
    }
    this.window.clear();
    return pieces;
  }

  private drain(atEnd: boolean): PacedPiece[] {
    const pieces: PacedPiece[] = [];
    for (;;) {
      const bytes = this.window.bytes;
      if (bytes.length === 0) return pieces;
      const parsed = parseOggPage(bytes, 0);
      if (parsed.status === 'need-more' && !atEnd) return pieces;
      if (parsed.status === 'page') {
        this.emitPage(pieces, bytes, parsed.page);
        continue;
      }
      // Junk or a damaged page: skip to the next page that parses (or may, with more bytes).
      let next = 1;
      for (; next < bytes.length; next++) {
        if (bytes[next] !== 0x4f) continue;
        const status = parseOggPage(bytes, next).status;
        if (status === 'page' || (status === 'need-more' && !atEnd)) break;
      }
      const junk = this.window.slice(this.window.first, this.window.first + next);
      this.window.discardBefore(this.window.first + next);
      if (!this.context.loop) {
        pieces.push({
          bytes: junk,
          mediaTimeMicros: Math.round(this.micros),
          durationMicros: 0,
          role: 'metadata',
        });
      }
    }
  }

  private emitPage(pieces: PacedPiece[], bytes: Uint8Array, page: OggPage): void {
    const start = this.window.first;
    const header =
      this.isLeadingHeader(bytes.subarray(0, page.length)) ?? isHeaderPage(bytes, page);
    if (page.headerType & FLAG_BEGINNING_OF_STREAM) {
      if (this.seenMediaPage) {
        // A chained stream (RFC 3533 section 4): new headers, granules restart.
        this.streams.clear();
        this.clockSerial = undefined;
        this.chainBase = this.micros;
        this.granuleBase = undefined;
        this.seenMediaPage = false;
      }
      const packet = bytes.subarray(
        page.bodyOffset,
        page.bodyOffset + firstPacketLength(bytes, page),
      );
      const info = identifyOggStream(packet);
      this.streams.set(page.serialNumber, { info, sequenceDelta: undefined });
      this.loopState.streams.set(page.serialNumber, info);
      if (
        this.clockSerial === undefined &&
        (info.sampleRate !== undefined || info.theora !== undefined)
      ) {
        this.clockSerial = page.serialNumber;
      }
    }
    let pageBytes = this.window.slice(start, start + page.length);
    this.window.discardBefore(start + page.length);
    const startMicros = this.micros;
    if (header) {
      if (this.context.pass > 1 && this.context.loop) return; // players have them already
      pieces.push({
        bytes: pageBytes,
        mediaTimeMicros: Math.round(startMicros),
        durationMicros: 0,
        role: 'header',
      });
      return;
    }
    this.seenMediaPage = true;
    this.advanceClock(page);
    if (this.context.loop) pageBytes = this.rewriteForLoop(pageBytes, page);
    pieces.push({
      bytes: pageBytes,
      mediaTimeMicros: Math.round(startMicros),
      durationMicros: Math.round(this.micros) - Math.round(startMicros),
      role: 'media',
    });
  }

  /**
   * Whether a page at the start of the pass belongs to the stream header; undefined past it
   * (later header pages, of a chained stream, are told by their packets: `isHeaderPage`).
   */
  private isLeadingHeader(page: Uint8Array): boolean | undefined {
    const capture = this.leadingHeader;
    if (capture === null) return undefined;
    const pageStart = this.leadingBytes;
    this.leadingBytes += page.length;
    // Whole pages go in, so `need-more` means this page was taken into the header.
    const status = capture.push(page);
    if (status === 'need-more') return true;
    this.leadingHeader = null;
    // A header the capture cannot take (malformed, too large) is left to `isHeaderPage`.
    return status === 'complete' ? capture.dataOffset > pageStart : undefined;
  }

  private advanceClock(page: OggPage): void {
    if (this.clockSerial === undefined) {
      const bitrate = this.context.bitrate;
      if (bitrate === undefined) {
        throw new MediaError(
          'P2PSP_ERR_MEDIA_BITRATE_REQUIRED',
          'this Ogg stream has no codec whose timing is known (Opus, Vorbis, FLAC, Speex, Theora): pass --bitrate <bits/s> to pace it',
        );
      }
      this.bytesTimedByBitrate += page.length;
      this.micros = this.chainBase + (this.bytesTimedByBitrate * 8 * 1e6) / bitrate;
      return;
    }
    if (page.serialNumber !== this.clockSerial) return;
    const info = this.streams.get(page.serialNumber)?.info;
    const end = info === undefined ? undefined : granuleToMicros(info, page.granulePosition);
    if (end === undefined) return; // no packet ends on this page
    if (this.granuleBase === undefined) {
      this.granuleBase = end > CUT_STREAM_THRESHOLD_MICROS ? end : 0;
    }
    this.micros = Math.max(this.micros, this.chainBase + end - this.granuleBase);
  }

  /**
   * Looping keeps one continuous logical stream so the header captured on the first pass
   * stays valid: pass 2+ drops the header pages, continues page sequence numbers and granule
   * positions, and no page says end-of-stream; the CRC is recomputed (RFC 3533 section 6).
   */
  private rewriteForLoop(bytes: Uint8Array, page: OggPage): Uint8Array {
    const state = this.loopState;
    const serial = page.serialNumber;
    const stream = this.streams.get(serial);
    const expected = state.nextSequence.get(serial);
    let delta = stream?.sequenceDelta;
    if (delta === undefined) {
      delta = expected === undefined ? 0 : expected - page.sequenceNumber;
      if (stream !== undefined) stream.sequenceDelta = delta;
    }
    const sequence = (page.sequenceNumber + delta) >>> 0;
    state.nextSequence.set(serial, sequence + 1);
    let granule = page.granulePosition;
    if (granule >= 0n) {
      state.lastGranule.set(serial, granule);
      granule = addToGranule(
        state.streams.get(serial),
        granule,
        state.granuleOffset.get(serial) ?? 0n,
      );
    }
    const unchanged =
      sequence === page.sequenceNumber &&
      granule === page.granulePosition &&
      (page.headerType & FLAG_END_OF_STREAM) === 0;
    if (unchanged) return bytes;
    bytes[5] = page.headerType & ~FLAG_END_OF_STREAM;
    writeInt64LittleEndian(bytes, 6, granule);
    writeUint32LittleEndian(bytes, 18, sequence);
    writeUint32LittleEndian(bytes, 22, 0);
    writeUint32LittleEndian(bytes, 22, oggCrc32(bytes));
    return bytes;
  }
}

/**
 * WebM/Matroska: one piece per block, released at its timestamp (Cluster Timestamp + the
 * block's relative timestamp, times TimestampScale). The init segment is `header`, Segment
 * elements after the first Cluster (Cues, Tags) are `metadata`.
 */
class WebmPass implements PassParser {
  private readonly splitter: WebmSplitter;
  private micros = 0;

  constructor(
    private readonly context: PassContext,
    readonly loopState: WebmLoopState,
  ) {
    this.splitter = new WebmSplitter(context.loop, loopState, context.lateJoinerHeader);
  }

  push(bytes: Uint8Array): PacedPiece[] {
    return this.place(this.splitter.push(bytes));
  }

  end(): PacedPiece[] {
    return this.place(this.splitter.push(new Uint8Array(0), true));
  }

  private place(pieces: readonly WebmPiece[]): PacedPiece[] {
    const placed: PacedPiece[] = [];
    for (const piece of pieces) {
      if (piece.role === 'header') {
        // A repeated init segment mid-stream would break players: first pass only.
        if (this.context.pass === 1) {
          placed.push({
            bytes: piece.bytes,
            mediaTimeMicros: 0,
            durationMicros: 0,
            role: 'header',
          });
        }
        continue;
      }
      if (piece.role === 'metadata') {
        if (!this.context.loop) {
          placed.push({
            bytes: piece.bytes,
            mediaTimeMicros: Math.round(this.micros),
            durationMicros: 0,
            role: 'metadata',
          });
        }
        continue;
      }
      if (piece.blockMicros === undefined && this.splitter.isRaw) {
        const duration = this.untimedMicros(piece.bytes.length);
        placed.push({
          bytes: piece.bytes,
          mediaTimeMicros: Math.round(this.micros),
          durationMicros: Math.round(duration),
          role: 'media',
        });
        this.micros += duration;
        continue;
      }
      if (piece.blockMicros !== undefined) this.micros = Math.max(this.micros, piece.blockMicros);
      placed.push({
        bytes: piece.bytes,
        mediaTimeMicros: Math.round(this.micros),
        // A SimpleBlock does not say its duration: take the spacing of the last two blocks,
        // less the DiscardPadding that trims the final one.
        durationMicros: Math.round(
          Math.max(
            0,
            this.splitter.lastBlockSpacingMicros - this.splitter.lastDiscardPaddingMicros,
          ),
        ),
        role: 'media',
      });
    }
    return placed;
  }

  private untimedMicros(length: number): number {
    const bitrate = this.context.bitrate;
    if (bitrate === undefined) {
      throw new MediaError(
        'P2PSP_ERR_MEDIA_BITRATE_REQUIRED',
        'this WebM/Matroska stream has elements this package cannot walk, so its timestamps are unknown: pass --bitrate <bits/s> to pace it',
      );
    }
    return (length * 8 * 1e6) / bitrate;
  }
}
