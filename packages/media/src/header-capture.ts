import { ByteWindow, concatBytes, EMPTY } from './bytes.js';
import {
  CLUSTER_ID,
  EBML_HEADER_ID,
  readElementHead,
  SEGMENT_ID,
  UNKNOWN_SIZE_VINT,
} from './ebml.js';
import { MediaError } from './errors.js';
import { id3v2TagLength } from './id3.js';
import type { MediaKind } from './media-type.js';
import {
  completedPacketCount,
  FLAG_BEGINNING_OF_STREAM,
  FLAG_END_OF_STREAM,
  firstPacketLength,
  identifyOggStream,
  type OggStreamInfo,
  parseOggPage,
} from './ogg.js';

export type HeaderCaptureStatus = 'need-more' | 'complete' | 'failed';

export interface HeaderCaptureOptions {
  /** Give up (status `failed`, code P2PSP_ERR_MEDIA_HEADER_TOO_LARGE) past this many header bytes. Default 1 MiB. */
  readonly maxHeaderBytes?: number;
}

/** Incremental capture of the stream header a late joiner needs before any sync point. */
export interface HeaderCapture {
  /** Feeds the next bytes of the stream (any slicing). Further pushes after the end are ignored. */
  push(bytes: Uint8Array): HeaderCaptureStatus;
  readonly status: HeaderCaptureStatus;
  /**
   * The header bytes, valid once `status` is `complete` (empty for MP3/ADTS/unknown). For
   * WebM the Segment size is rewritten to "unknown": the player will not get the file's
   * original layout after it.
   */
  readonly header: Uint8Array;
  /** Absolute stream offset (from the first byte pushed) where media data begins; -1 until complete. */
  readonly dataOffset: number;
  /** Why the capture failed (status `failed`). */
  readonly error: MediaError | undefined;
}

const DEFAULT_MAX_HEADER_BYTES = 1 << 20;

/** Creates a header capture for a stream of this kind (see {@link detectMediaType}). */
export function createHeaderCapture(
  kind: MediaKind,
  options: HeaderCaptureOptions = {},
): HeaderCapture {
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < 1) {
    throw new MediaError(
      'P2PSP_ERR_MEDIA_INVALID_OPTION',
      `maxHeaderBytes must be a positive integer, got ${String(maxHeaderBytes)}`,
    );
  }
  switch (kind) {
    case 'ogg':
      return new OggHeaderCapture(maxHeaderBytes);
    case 'webm':
      return new WebmHeaderCapture(maxHeaderBytes);
    case 'mp3':
    case 'aac-adts':
      return new Id3SkippingCapture();
    default:
      return new EmptyHeaderCapture();
  }
}

abstract class BaseCapture implements HeaderCapture {
  status: HeaderCaptureStatus = 'need-more';
  header: Uint8Array = EMPTY;
  dataOffset = -1;
  error: MediaError | undefined = undefined;
  protected readonly window = new ByteWindow();

  push(bytes: Uint8Array): HeaderCaptureStatus {
    if (this.status !== 'need-more') return this.status;
    this.window.append(bytes);
    this.advance();
    return this.status;
  }

  protected abstract advance(): void;

  protected complete(header: Uint8Array, dataOffset: number): void {
    this.header = header;
    this.dataOffset = dataOffset;
    this.status = 'complete';
    this.window.clear();
  }

  protected fail(error: MediaError): void {
    this.error = error;
    this.status = 'failed';
    this.window.clear();
  }
}

class EmptyHeaderCapture extends BaseCapture {
  protected advance(): void {
    this.complete(EMPTY, 0);
  }
}

/** MP3/ADTS need no header; media data begins after a leading ID3v2 tag, if any. */
class Id3SkippingCapture extends BaseCapture {
  protected advance(): void {
    const tagLength = id3v2TagLength(this.window.bytes, 0);
    if (tagLength !== undefined) this.complete(EMPTY, tagLength);
  }
}

/**
 * Ogg: the BOS page of every logical stream and the following pages until each stream's
 * header packets are complete (Opus 2, Vorbis 3, Theora 3, ...), stopping early at the first
 * page of a stream whose headers are done (a data page). RFC 3533 section 4 puts all BOS
 * pages first; codec mappings put the remaining header packets before any data page.
 */
class OggHeaderCapture extends BaseCapture {
  private readonly pages: Uint8Array[] = [];
  private headerBytes = 0;
  private readonly streams = new Map<
    number,
    { info: OggStreamInfo; packets: number; ended: boolean }
  >();

  constructor(private readonly maxHeaderBytes: number) {
    super();
  }

  protected advance(): void {
    while (this.status === 'need-more') {
      const bytes = this.window.bytes;
      const parsed = parseOggPage(bytes, 0);
      if (parsed.status === 'need-more') {
        if (bytes.length > this.maxHeaderBytes) this.failTooLarge();
        return;
      }
      const pageStart = this.window.first;
      if (parsed.status === 'invalid') {
        this.fail(
          new MediaError(
            'P2PSP_ERR_MEDIA_MALFORMED',
            `invalid Ogg page at byte ${pageStart} (bad capture pattern, version or CRC): the input is not an Ogg stream starting at its first page; check the input or its media type`,
          ),
        );
        return;
      }
      const page = parsed.page;
      const isBos = (page.headerType & FLAG_BEGINNING_OF_STREAM) !== 0;
      let stream = this.streams.get(page.serialNumber);
      if (isBos) {
        const packetLength = firstPacketLength(bytes, page);
        const packet = bytes.subarray(page.bodyOffset, page.bodyOffset + packetLength);
        stream = { info: identifyOggStream(packet), packets: 0, ended: false };
        this.streams.set(page.serialNumber, stream);
      } else if (stream === undefined) {
        if (this.streams.size === 0) {
          this.fail(
            new MediaError(
              'P2PSP_ERR_MEDIA_MALFORMED',
              `the Ogg stream does not start with its header pages (first page at byte ${pageStart} is not a beginning-of-stream page): start the input at its beginning so late joiners can get the codec headers`,
            ),
          );
          return;
        }
        // A page of a stream we never saw begin: media data of some other stream; stop here.
        this.finish(pageStart);
        return;
      } else if (this.isDone(stream)) {
        this.finish(pageStart);
        return;
      }
      stream.packets += completedPacketCount(bytes, page);
      if (page.headerType & FLAG_END_OF_STREAM) stream.ended = true;
      this.pages.push(this.window.slice(pageStart, pageStart + page.length));
      this.headerBytes += page.length;
      this.window.discardBefore(pageStart + page.length);
      if (this.headerBytes > this.maxHeaderBytes) {
        this.failTooLarge();
        return;
      }
      if ([...this.streams.values()].every((each) => this.isDone(each))) {
        this.finish(pageStart + page.length);
      }
    }
  }

  private isDone(stream: { info: OggStreamInfo; packets: number; ended: boolean }): boolean {
    return stream.ended || stream.packets >= stream.info.headerPackets;
  }

  private finish(dataOffset: number): void {
    this.complete(concatBytes(this.pages), dataOffset);
  }

  private failTooLarge(): void {
    this.fail(
      new MediaError(
        'P2PSP_ERR_MEDIA_HEADER_TOO_LARGE',
        `the Ogg header pages exceed ${this.maxHeaderBytes} bytes (large embedded cover art?): strip the metadata or raise maxHeaderBytes`,
      ),
    );
  }
}

/**
 * WebM/Matroska: the init segment, i.e. the EBML header, the Segment element's ID and size
 * (rewritten to "unknown", RFC 8794 section 6.2, as live streams write it) and every Segment
 * child before the first Cluster (SeekHead, Info, Tracks, Tags...).
 */
class WebmHeaderCapture extends BaseCapture {
  private readonly parts: Uint8Array[] = [];
  private headerBytes = 0;
  private inSegment = false;

  constructor(private readonly maxHeaderBytes: number) {
    super();
  }

  protected advance(): void {
    while (this.status === 'need-more') {
      const bytes = this.window.bytes;
      const start = this.window.first;
      const head = readElementHead(bytes, 0);
      if (head.status === 'need-more') return;
      if (head.status === 'invalid') {
        this.failMalformed(`invalid EBML element at byte ${start}`);
        return;
      }
      if (start === 0 && head.id !== EBML_HEADER_ID) {
        this.failMalformed('the stream does not start with an EBML header (1A 45 DF A3)');
        return;
      }
      if (this.inSegment && head.id === CLUSTER_ID) {
        this.complete(concatBytes(this.parts), start);
        return;
      }
      if (!this.inSegment && head.id === SEGMENT_ID) {
        this.inSegment = true;
        this.keep(bytes.slice(0, idLength(head.id)));
        this.keep(UNKNOWN_SIZE_VINT);
        this.window.discardBefore(start + head.headLength);
        continue;
      }
      if (head.unknownSize) {
        this.failMalformed(
          `element 0x${head.id.toString(16)} at byte ${start} has an unknown size before the first Cluster`,
        );
        return;
      }
      const total = head.headLength + head.size;
      if (this.headerBytes + total > this.maxHeaderBytes) {
        this.fail(
          new MediaError(
            'P2PSP_ERR_MEDIA_HEADER_TOO_LARGE',
            `the WebM init segment exceeds ${this.maxHeaderBytes} bytes (attachments?): remux without them or raise maxHeaderBytes`,
          ),
        );
        return;
      }
      if (bytes.length < total) return;
      this.keep(bytes.slice(0, total));
      this.window.discardBefore(start + total);
    }
  }

  private keep(part: Uint8Array): void {
    this.parts.push(part);
    this.headerBytes += part.length;
  }

  private failMalformed(problem: string): void {
    this.fail(
      new MediaError(
        'P2PSP_ERR_MEDIA_MALFORMED',
        `${problem}: the input is not a WebM/Matroska stream starting at its beginning; check the input or its media type`,
      ),
    );
  }
}

function idLength(id: number): number {
  return id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
}
