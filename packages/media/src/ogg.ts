// Ogg page and codec header parsing (RFC 3533; codec mappings cited per codec). Internal.
import {
  asciiBytes,
  matchesAt,
  readInt64LittleEndian,
  readUint16LittleEndian,
  readUint32LittleEndian,
} from './bytes.js';
import { oggCrc32 } from './crc32.js';

export const OGG_CAPTURE_PATTERN = asciiBytes('OggS');
/** RFC 3533 section 6: 27 fixed bytes before the segment table. */
const FIXED_HEADER_BYTES = 27;
export const FLAG_CONTINUED = 0x01;
export const FLAG_BEGINNING_OF_STREAM = 0x02;
export const FLAG_END_OF_STREAM = 0x04;
/** Granule position -1: no packet finishes on this page (RFC 3533 section 6). */
export const NO_GRANULE = -1n;

export interface OggPage {
  /** Offset of "OggS" in the buffer that was parsed. */
  readonly offset: number;
  /** Whole page length: header, segment table and body. */
  readonly length: number;
  readonly headerType: number;
  readonly granulePosition: bigint;
  readonly serialNumber: number;
  readonly sequenceNumber: number;
  readonly segmentCount: number;
  /** Offset of the body in the buffer that was parsed. */
  readonly bodyOffset: number;
  readonly bodyLength: number;
}

export type OggPageParse =
  | { readonly status: 'page'; readonly page: OggPage }
  /** `minimumLength`: the page is at least this long, as far as its bytes so far say. */
  | { readonly status: 'need-more'; readonly minimumLength: number }
  | { readonly status: 'invalid' };

/**
 * Parses the page starting at `offset`: capture pattern, version 0, known flags and a CRC
 * that matches the whole page (RFC 3533 section 6). `need-more` when the page runs past the
 * end of `bytes` and is valid so far.
 */
export function parseOggPage(bytes: Uint8Array, offset: number): OggPageParse {
  const available = bytes.length - offset;
  for (let index = 0; index < Math.min(4, available); index++) {
    if (bytes[offset + index] !== OGG_CAPTURE_PATTERN[index]) return { status: 'invalid' };
  }
  if (available < 6) return { status: 'need-more', minimumLength: FIXED_HEADER_BYTES };
  if (bytes[offset + 4] !== 0) return { status: 'invalid' };
  const headerType = bytes[offset + 5]!;
  if ((headerType & ~0x07) !== 0) return { status: 'invalid' };
  if (available < FIXED_HEADER_BYTES) {
    return { status: 'need-more', minimumLength: FIXED_HEADER_BYTES };
  }
  const segmentCount = bytes[offset + 26]!;
  const bodyOffset = offset + FIXED_HEADER_BYTES + segmentCount;
  let bodyLength = 0;
  for (
    let index = offset + FIXED_HEADER_BYTES;
    index < Math.min(bodyOffset, bytes.length);
    index++
  ) {
    bodyLength += bytes[index]!;
  }
  const end = bodyOffset + bodyLength;
  if (bytes.length < end) return { status: 'need-more', minimumLength: end - offset };
  // The CRC is computed with its own field set to zero.
  let crc = oggCrc32(bytes, offset, offset + 22);
  crc = oggCrc32(ZERO_CRC_FIELD, 0, 4, crc);
  crc = oggCrc32(bytes, offset + 26, end, crc);
  if (crc !== readUint32LittleEndian(bytes, offset + 22)) return { status: 'invalid' };
  return {
    status: 'page',
    page: {
      offset,
      length: end - offset,
      headerType,
      granulePosition: readInt64LittleEndian(bytes, offset + 6),
      serialNumber: readUint32LittleEndian(bytes, offset + 14),
      sequenceNumber: readUint32LittleEndian(bytes, offset + 18),
      segmentCount,
      bodyOffset,
      bodyLength,
    },
  };
}

const ZERO_CRC_FIELD = new Uint8Array(4);

/** Number of packets that end on this page (lacing values below 255, RFC 3533 section 5). */
export function completedPacketCount(bytes: Uint8Array, page: OggPage): number {
  let count = 0;
  for (let index = 0; index < page.segmentCount; index++) {
    if (bytes[page.offset + FIXED_HEADER_BYTES + index]! < 255) count++;
  }
  return count;
}

/** Length of the first packet (or packet part) on the page. */
export function firstPacketLength(bytes: Uint8Array, page: OggPage): number {
  let length = 0;
  for (let index = 0; index < page.segmentCount; index++) {
    const lacing = bytes[page.offset + FIXED_HEADER_BYTES + index]!;
    length += lacing;
    if (lacing < 255) break;
  }
  return length;
}

export type OggCodec = 'opus' | 'vorbis' | 'theora' | 'flac' | 'speex' | 'skeleton' | 'unknown';

/** What the beginning-of-stream packet says about one logical stream. */
export interface OggStreamInfo {
  readonly codec: OggCodec;
  /** Header packets the decoder needs, BOS packet included (Infinity: until the EOS page). */
  readonly headerPackets: number;
  /** Audio samples per second of the granule position, when it counts samples. */
  readonly sampleRate: number | undefined;
  /** Opus pre-skip (RFC 7845 section 5.1): granules to drop before the first sample. */
  readonly preSkip: number;
  /** Theora frame rate and granule split (Theora spec section 6.2). */
  readonly theora:
    | {
        readonly frameRateNumerator: number;
        readonly frameRateDenominator: number;
        readonly keyframeShift: number;
      }
    | undefined;
}

const OPUS_HEAD = asciiBytes('OpusHead');
const OPUS_TAGS = asciiBytes('OpusTags');
const VORBIS = asciiBytes('vorbis');
const THEORA = asciiBytes('theora');
const FLAC = asciiBytes('FLAC');
const SPEEX = asciiBytes('Speex   ');
const FISHEAD = asciiBytes('fishead\0');
const FISBONE = asciiBytes('fisbone\0');

function readUint32BigEndian(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

/** Identifies the codec from the first packet of a BOS page (`packet` = its bytes). */
export function identifyOggStream(packet: Uint8Array): OggStreamInfo {
  const base = { sampleRate: undefined, preSkip: 0, theora: undefined };
  // RFC 7845 section 5.1: "OpusHead", version, channels, pre-skip (u16 LE at 10); granules are 48 kHz.
  if (matchesAt(packet, 0, OPUS_HEAD) && packet.length >= 19) {
    return {
      ...base,
      codec: 'opus',
      headerPackets: 2,
      sampleRate: 48_000,
      preSkip: readUint16LittleEndian(packet, 10),
    };
  }
  // Vorbis I spec section 4.2.2: type 1 + "vorbis", version (u32), channels (u8), rate (u32 LE at 12).
  if (packet[0] === 1 && matchesAt(packet, 1, VORBIS) && packet.length >= 30) {
    const sampleRate = readUint32LittleEndian(packet, 12);
    return { ...base, codec: 'vorbis', headerPackets: 3, sampleRate: sampleRate || undefined };
  }
  // Theora spec section 6.2: 0x80 + "theora", FRN/FRD (u32 BE at 22 and 26), KFGSHIFT (5 bits at 40.2).
  if (packet[0] === 0x80 && matchesAt(packet, 1, THEORA) && packet.length >= 42) {
    const frameRateNumerator = readUint32BigEndian(packet, 22);
    const frameRateDenominator = readUint32BigEndian(packet, 26);
    const keyframeShift = ((packet[40]! & 0x03) << 3) | (packet[41]! >> 5);
    return {
      ...base,
      codec: 'theora',
      headerPackets: 3,
      theora:
        frameRateNumerator > 0 && frameRateDenominator > 0
          ? { frameRateNumerator, frameRateDenominator, keyframeShift }
          : undefined,
    };
  }
  // Ogg FLAC mapping: 0x7F "FLAC", version (2 bytes), header packet count (u16 BE at 7; 0 =
  // unknown), "fLaC", STREAMINFO block whose sample rate is 20 bits at byte 27.
  if (packet[0] === 0x7f && matchesAt(packet, 1, FLAC) && packet.length >= 30) {
    const extraHeaders = (packet[7]! << 8) | packet[8]!;
    const sampleRate = (packet[27]! << 12) | (packet[28]! << 4) | (packet[29]! >> 4);
    return {
      ...base,
      codec: 'flac',
      headerPackets: 1 + Math.max(1, extraHeaders),
      sampleRate: sampleRate || undefined,
    };
  }
  // Speex header: rate (i32 LE at 36), extra_headers (i32 LE at 68) after the comment packet.
  if (matchesAt(packet, 0, SPEEX) && packet.length >= 80) {
    const extraHeaders = Math.min(readUint32LittleEndian(packet, 68), 16);
    const sampleRate = readUint32LittleEndian(packet, 36);
    return {
      ...base,
      codec: 'speex',
      headerPackets: 2 + extraHeaders,
      sampleRate: sampleRate || undefined,
    };
  }
  // Ogg Skeleton 4: its header packets end with the skeleton stream's EOS page.
  if (matchesAt(packet, 0, FISHEAD)) {
    return { ...base, codec: 'skeleton', headerPackets: Number.POSITIVE_INFINITY };
  }
  return { ...base, codec: 'unknown', headerPackets: 1 };
}

/** True when a packet's first bytes are a known codec header (not audio/video data). */
export function looksLikeHeaderPacket(bytes: Uint8Array, offset: number): boolean {
  const first = bytes[offset];
  if (first === undefined) return false;
  if ((first === 1 || first === 3 || first === 5) && matchesAt(bytes, offset + 1, VORBIS))
    return true;
  if (first >= 0x80 && first <= 0x82 && matchesAt(bytes, offset + 1, THEORA)) return true;
  return (
    matchesAt(bytes, offset, OPUS_HEAD) ||
    matchesAt(bytes, offset, OPUS_TAGS) ||
    matchesAt(bytes, offset, FISHEAD) ||
    matchesAt(bytes, offset, FISBONE) ||
    matchesAt(bytes, offset, SPEEX) ||
    (first === 0x7f && matchesAt(bytes, offset + 1, FLAC))
  );
}

/**
 * True for pages a decoder must not see twice after the captured header: BOS pages, pages
 * whose first packet is a codec header, and continued pages with granule 0 (header pages
 * carry granule 0: RFC 7845 section 3, Vorbis I spec A.2).
 */
export function isHeaderPage(bytes: Uint8Array, page: OggPage): boolean {
  if (page.headerType & FLAG_BEGINNING_OF_STREAM) return true;
  if (page.headerType & FLAG_CONTINUED) return page.granulePosition === 0n;
  return looksLikeHeaderPacket(bytes, page.bodyOffset);
}

/** Media time in microseconds at the end of a page with this granule, if the codec says. */
export function granuleToMicros(info: OggStreamInfo, granulePosition: bigint): number | undefined {
  if (granulePosition < 0n) return undefined;
  if (info.sampleRate !== undefined) {
    const samples = granulePosition - BigInt(info.preSkip);
    return samples <= 0n ? 0 : Number((samples * 1_000_000n) / BigInt(info.sampleRate));
  }
  if (info.theora !== undefined) {
    const { frameRateNumerator, frameRateDenominator, keyframeShift } = info.theora;
    const keyframe = granulePosition >> BigInt(keyframeShift);
    const sinceKeyframe = granulePosition & ((1n << BigInt(keyframeShift)) - 1n);
    const frames = keyframe + sinceKeyframe;
    return Number(
      (frames * BigInt(frameRateDenominator) * 1_000_000n) / BigInt(frameRateNumerator),
    );
  }
  return undefined;
}
