// WebM/Matroska pacing from the container's own timestamps (RFC 9559: Cluster Timestamp,
// section 5.1.3.1; SimpleBlock/Block relative timestamp, section 10.1; TimestampScale,
// section 5.1.2.1). Internal: used by createPacer.
import { ByteWindow, concatBytes } from './bytes.js';
import {
  CLUSTER_ID,
  CLUSTER_TIMESTAMP_ID,
  EBML_HEADER_ID,
  readElementHead,
  readElementSize,
  SEGMENT_ID,
  UNKNOWN_SIZE_VINT,
} from './ebml.js';

const INFO_ID = 0x1549a966;
const TIMESTAMP_SCALE_ID = 0x2ad7b1;
const SIMPLE_BLOCK_ID = 0xa3;
const BLOCK_GROUP_ID = 0xa0;
const BLOCK_ID = 0xa1;
const DISCARD_PADDING_ID = 0x75a2;
/** Segment children: one of these inside an unknown-size Cluster ends it (RFC 8794 section 6.2). */
const SEGMENT_LEVEL_IDS = new Set([
  CLUSTER_ID,
  INFO_ID,
  0x114d9b74, // SeekHead
  0x1654ae6b, // Tracks
  0x1c53bb6b, // Cues
  0x1254c367, // Tags
  0x1043a770, // Chapters
  0x1941a469, // Attachments
  EBML_HEADER_ID,
  SEGMENT_ID,
]);
/** Larger elements (attachments, corrupt sizes) are not walked. */
const MAX_ELEMENT_BYTES = 16 * 1024 * 1024;
/** Default TimestampScale: 1 ms in nanoseconds (RFC 9559 section 5.1.2.1). */
const DEFAULT_TIMESTAMP_SCALE = 1_000_000;

export interface WebmPiece {
  readonly bytes: Uint8Array;
  readonly role: 'header' | 'metadata' | 'media';
  /** Block start time in microseconds from the first block of the pass; undefined for non-blocks. */
  readonly blockMicros: number | undefined;
}

/** Kept across loop passes: where the next pass's timestamps continue. */
export class WebmLoopState {
  /** Timestamp (in TimestampScale units, offset included) just after the last block written. */
  nextTimestamp: number | undefined;
}

type Phase = 'top' | 'segment' | 'cluster';

/**
 * Splits a WebM stream into the init segment (`header`), one piece per SimpleBlock/BlockGroup
 * (`media`, with the Cluster head and Timestamp in front of the first block of their Cluster)
 * and Segment-level elements after the first Cluster (`metadata`: Cues, Tags...).
 * With `rewriteForLoop`, Clusters get an unknown size and a Timestamp continuing the previous
 * pass, so a looped file stays one stream with increasing timestamps.
 */
export class WebmSplitter {
  private readonly window = new ByteWindow();
  private phase: Phase = 'top';
  private headerParts: Uint8Array[] = [];
  private headerDone = false;
  private prefix: Uint8Array[] = [];
  private clusterEnd: number | undefined;
  private clusterTimestamp = 0;
  private timestampScale = DEFAULT_TIMESTAMP_SCALE;
  private firstBlockTimestamp: number | undefined;
  private timestampOffset: number | undefined;
  private lastBlockTimestamp: number | undefined;
  /** Raw mode after an element we cannot walk: everything passes as media, untimed. */
  private raw = false;

  constructor(
    private readonly rewriteForLoop: boolean,
    private readonly loopState: WebmLoopState,
    /** The init segment is written for players joining mid-stream (Segment of unknown size). */
    private readonly lateJoinerHeader = false,
  ) {}

  /** True once an element could not be walked: the rest passes untimed. */
  get isRaw(): boolean {
    return this.raw;
  }

  /** DiscardPadding of the last block (the end of the stream is trimmed by it). */
  lastDiscardPaddingMicros = 0;

  /** Typical block spacing seen, in microseconds (to close the last block's duration). */
  lastBlockSpacingMicros = 0;

  push(bytes: Uint8Array, atEnd = false): WebmPiece[] {
    this.window.append(bytes);
    const pieces: WebmPiece[] = [];
    while (this.step(pieces)) {
      // keep walking
    }
    if (atEnd) {
      const rest = concatBytes([...this.headerParts, ...this.prefix, this.window.bytes]);
      this.headerParts = [];
      this.prefix = [];
      this.window.clear();
      if (rest.length > 0) pieces.push({ bytes: rest, role: 'metadata', blockMicros: undefined });
    }
    return pieces;
  }

  /** Handles one element; false when more bytes are needed. */
  private step(pieces: WebmPiece[]): boolean {
    const bytes = this.window.bytes;
    if (bytes.length === 0) return false;
    if (this.raw) {
      pieces.push({ bytes: bytes.slice(), role: 'media', blockMicros: undefined });
      this.window.clear();
      return false;
    }
    const start = this.window.first;
    if (this.phase === 'cluster' && this.clusterEnd !== undefined && start >= this.clusterEnd) {
      this.phase = 'segment';
    }
    const head = readElementHead(bytes, 0);
    if (head.status === 'need-more') return false;
    // A corrupt size could make us buffer the rest of the file: give up walking instead.
    if (head.status === 'invalid' || head.size > MAX_ELEMENT_BYTES) return this.goRaw(pieces);
    const total = head.headLength + head.size;
    const whole = (): Uint8Array | undefined => {
      if (head.unknownSize || bytes.length < total) return undefined;
      const element = this.window.slice(start, start + total);
      this.window.discardBefore(start + total);
      return element;
    };
    if (
      this.phase === 'cluster' &&
      this.clusterEnd === undefined &&
      SEGMENT_LEVEL_IDS.has(head.id)
    ) {
      this.phase = 'segment'; // an unknown-size Cluster ends where a Segment child begins
    }
    switch (this.phase) {
      case 'top': {
        if (head.id === SEGMENT_ID) {
          const segmentHead = this.window.slice(start, start + head.headLength);
          // Looping makes the stream longer than the file's Segment, and a late joiner never
          // gets all of it: say "unknown size", as live muxers and `createHeaderCapture` do.
          this.headerParts.push(
            this.rewriteForLoop || this.lateJoinerHeader
              ? concatBytes([segmentHead.subarray(0, 4), UNKNOWN_SIZE_VINT])
              : segmentHead,
          );
          this.window.discardBefore(start + head.headLength);
          this.phase = 'segment';
          return true;
        }
        if (head.unknownSize) return this.goRaw(pieces);
        const element = whole();
        if (element === undefined) return false;
        this.headerParts.push(element);
        return true;
      }
      case 'segment': {
        if (head.id === CLUSTER_ID) {
          this.finishHeader(pieces);
          this.clusterEnd = head.unknownSize ? undefined : start + total;
          const clusterHead = this.window.slice(start, start + head.headLength);
          this.window.discardBefore(start + head.headLength);
          this.prefix.push(
            this.rewriteForLoop
              ? concatBytes([clusterHead.subarray(0, 4), UNKNOWN_SIZE_VINT])
              : clusterHead,
          );
          this.phase = 'cluster';
          return true;
        }
        if (head.unknownSize) return this.goRaw(pieces);
        const element = whole();
        if (element === undefined) return false;
        if (head.id === INFO_ID) this.readTimestampScale(element, head.headLength);
        if (this.headerDone) {
          pieces.push({ bytes: element, role: 'metadata', blockMicros: undefined });
        } else {
          this.headerParts.push(element);
        }
        return true;
      }
      case 'cluster': {
        if (head.unknownSize) return this.goRaw(pieces);
        const element = whole();
        if (element === undefined) return false;
        if (head.id === CLUSTER_TIMESTAMP_ID) {
          this.clusterTimestamp = readUnsigned(element, head.headLength, head.size);
          this.prefix.push(this.rewriteForLoop ? this.rewriteTimestamp() : element);
          return true;
        }
        if (head.id === SIMPLE_BLOCK_ID || head.id === BLOCK_GROUP_ID) {
          const timing = readBlockTiming(element, head.id, head.headLength);
          this.lastDiscardPaddingMicros = Math.max(
            0,
            (timing?.discardPaddingNanoseconds ?? 0) / 1000,
          );
          pieces.push({
            bytes: concatBytes([...this.prefix, element]),
            role: 'media',
            blockMicros: timing === undefined ? undefined : this.blockMicros(timing.relative),
          });
          this.prefix = [];
          return true;
        }
        this.prefix.push(element);
        return true;
      }
    }
  }

  /** Gives up walking: what was held goes out first, in order, then everything as is. */
  private goRaw(pieces: WebmPiece[]): boolean {
    this.raw = true;
    const held = concatBytes([...this.headerParts, ...this.prefix]);
    this.headerParts = [];
    this.prefix = [];
    if (held.length > 0) pieces.push({ bytes: held, role: 'metadata', blockMicros: undefined });
    return true;
  }

  private finishHeader(pieces: WebmPiece[]): void {
    if (this.headerDone) return;
    this.headerDone = true;
    if (this.headerParts.length > 0) {
      pieces.push({ bytes: concatBytes(this.headerParts), role: 'header', blockMicros: undefined });
    }
    this.headerParts = [];
  }

  private readTimestampScale(info: Uint8Array, headLength: number): void {
    let offset = headLength;
    while (offset < info.length) {
      const child = readElementHead(info, offset);
      if (child.status !== 'element' || child.unknownSize) return;
      if (child.id === TIMESTAMP_SCALE_ID) {
        const scale = readUnsigned(info, offset + child.headLength, child.size);
        if (scale > 0) this.timestampScale = scale;
        return;
      }
      offset += child.headLength + child.size;
    }
  }

  private blockMicros(relative: number): number {
    const timestamp = this.clusterTimestamp + relative;
    this.firstBlockTimestamp ??= timestamp;
    if (this.lastBlockTimestamp !== undefined && timestamp > this.lastBlockTimestamp) {
      this.lastBlockSpacingMicros =
        ((timestamp - this.lastBlockTimestamp) * this.timestampScale) / 1000;
    }
    this.lastBlockTimestamp = Math.max(this.lastBlockTimestamp ?? timestamp, timestamp);
    const spacing = Math.round((this.lastBlockSpacingMicros * 1000) / this.timestampScale);
    this.loopState.nextTimestamp =
      this.lastBlockTimestamp + (this.timestampOffset ?? 0) + Math.max(spacing, 1);
    return ((timestamp - this.firstBlockTimestamp) * this.timestampScale) / 1000;
  }

  /** Cluster Timestamp continuing the previous pass, as an 8-byte unsigned integer. */
  private rewriteTimestamp(): Uint8Array {
    this.timestampOffset ??=
      this.loopState.nextTimestamp === undefined
        ? 0
        : this.loopState.nextTimestamp - this.clusterTimestamp;
    const value = this.clusterTimestamp + this.timestampOffset;
    const element = new Uint8Array(10);
    element[0] = CLUSTER_TIMESTAMP_ID;
    element[1] = 0x88; // size 8
    let remaining = value;
    for (let index = 9; index >= 2; index--) {
      element[index] = remaining % 256;
      remaining = Math.floor(remaining / 256);
    }
    return element;
  }
}

function readUnsigned(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let index = 0; index < size && index < 8; index++)
    value = value * 256 + (bytes[offset + index] ?? 0);
  return value;
}

/**
 * The signed 16-bit timestamp after the track number of a (Simple)Block (RFC 9559 section
 * 10.1) and, for a BlockGroup, its DiscardPadding in nanoseconds (section 5.1.3.5.9: audio
 * to drop at the end, e.g. Opus end trimming).
 */
function readBlockTiming(
  element: Uint8Array,
  id: number,
  headLength: number,
): { relative: number; discardPaddingNanoseconds: number } | undefined {
  let blockStart = headLength;
  let discardPaddingNanoseconds = 0;
  if (id === BLOCK_GROUP_ID) {
    let offset = headLength;
    blockStart = -1;
    while (offset < element.length) {
      const child = readElementHead(element, offset);
      if (child.status !== 'element' || child.unknownSize) return undefined;
      if (child.id === BLOCK_ID) blockStart = offset + child.headLength;
      if (child.id === DISCARD_PADDING_ID) {
        discardPaddingNanoseconds = readSigned(element, offset + child.headLength, child.size);
      }
      offset += child.headLength + child.size;
    }
    if (blockStart < 0) return undefined;
  }
  const track = readElementSize(element, blockStart);
  if (track.status !== 'value') return undefined;
  const at = blockStart + track.length;
  if (at + 2 > element.length) return undefined;
  const value = (element[at]! << 8) | element[at + 1]!;
  return { relative: value >= 0x8000 ? value - 0x10000 : value, discardPaddingNanoseconds };
}

function readSigned(bytes: Uint8Array, offset: number, size: number): number {
  if (size < 1 || size > 6) return 0;
  const unsigned = readUnsigned(bytes, offset, size);
  const limit = 2 ** (8 * size);
  return unsigned >= limit / 2 ? unsigned - limit : unsigned;
}
