// MPEG audio (MP3 and its layers I/II) and ADTS (AAC) frame headers. Internal.
// MPEG-1 audio: ISO/IEC 11172-3 section 2.4.2.3; MPEG-2 LSF: ISO/IEC 13818-3; MPEG-2.5 is the
// common Fraunhofer extension. ADTS: ISO/IEC 13818-7 section 6.2 / 14496-3 section 1.A.2.

export interface AudioFrameHeader {
  /** Whole frame length in bytes, header included. */
  readonly length: number;
  /** PCM samples the frame decodes to (per channel). */
  readonly samples: number;
  readonly sampleRate: number;
  /** Fields that stay the same from frame to frame of one stream (used to validate sync). */
  readonly streamSignature: number;
  /** Bytes before the payload: header plus CRC (needed to find a Xing/Info tag). */
  readonly headerBytes: number;
  /** Side information size for layer III (0 otherwise). */
  readonly sideInformationBytes: number;
}

export interface AudioFrameFormat {
  /** Bytes needed to parse a header. */
  readonly minimumHeaderBytes: number;
  /** First byte of every header (for a fast scan). */
  readonly syncByte: number;
  /** The header at `offset`, or undefined when these bytes are not a valid header. */
  parse(bytes: Uint8Array, offset: number): AudioFrameHeader | undefined;
}

// Bit rates in kbit/s, index 1..14 (0 = free format, unsupported: no computable frame length;
// 15 = invalid). Rows: MPEG-1 layer I, II, III; MPEG-2/2.5 layer I; MPEG-2/2.5 layers II and III.
const BITRATES = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
] as const;
// By version bits (0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1; 1 is reserved).
const SAMPLE_RATES: Record<number, readonly number[]> = {
  0: [11_025, 12_000, 8_000],
  2: [22_050, 24_000, 16_000],
  3: [44_100, 48_000, 32_000],
};

export const MPEG_AUDIO: AudioFrameFormat = {
  minimumHeaderBytes: 4,
  syncByte: 0xff,
  parse(bytes, offset) {
    if (offset + 4 > bytes.length) return undefined;
    const byte1 = bytes[offset + 1]!;
    const byte2 = bytes[offset + 2]!;
    const byte3 = bytes[offset + 3]!;
    // 11 sync bits.
    if (bytes[offset] !== 0xff || (byte1 & 0xe0) !== 0xe0) return undefined;
    const version = (byte1 >> 3) & 0x03;
    const layerBits = (byte1 >> 1) & 0x03; // 3 = layer I, 2 = II, 1 = III, 0 reserved (ADTS)
    const bitrateIndex = byte2 >> 4;
    const sampleRateIndex = (byte2 >> 2) & 0x03;
    if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15) {
      return undefined;
    }
    if (sampleRateIndex === 3 || (byte3 & 0x03) === 2) return undefined; // reserved rate, emphasis
    const layer = 4 - layerBits;
    const isVersion1 = version === 3;
    const row = isVersion1 ? layer - 1 : layer === 1 ? 3 : 4;
    const bitrate = BITRATES[row]![bitrateIndex]! * 1000;
    const sampleRate = SAMPLE_RATES[version]![sampleRateIndex]!;
    const padding = (byte2 >> 1) & 0x01;
    const samples = layer === 1 ? 384 : layer === 2 || isVersion1 ? 1152 : 576;
    // Frame length in slots (4 bytes for layer I, 1 byte otherwise), ISO/IEC 11172-3 2.4.3.1.
    const length =
      layer === 1
        ? (Math.floor((12 * bitrate) / sampleRate) + padding) * 4
        : Math.floor(((samples / 8) * bitrate) / sampleRate) + padding;
    const mono = byte3 >> 6 === 3;
    const headerBytes = byte1 & 0x01 ? 4 : 6; // protection bit 0 = 16-bit CRC follows
    const sideInformationBytes = layer !== 3 ? 0 : isVersion1 ? (mono ? 17 : 32) : mono ? 9 : 17;
    return {
      length,
      samples,
      sampleRate,
      headerBytes,
      sideInformationBytes,
      streamSignature: (version << 4) | (layerBits << 2) | sampleRateIndex,
    };
  },
};

// ADTS sampling_frequency_index 0..12 (ISO/IEC 14496-3 table 1.18).
const ADTS_SAMPLE_RATES = [
  96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
  7_350,
];

export const ADTS: AudioFrameFormat = {
  minimumHeaderBytes: 7,
  syncByte: 0xff,
  parse(bytes, offset) {
    if (offset + 7 > bytes.length) return undefined;
    const byte1 = bytes[offset + 1]!;
    // 12 sync bits, then ID, layer (always 00), protection_absent.
    if (bytes[offset] !== 0xff || (byte1 & 0xf6) !== 0xf0) return undefined;
    const byte2 = bytes[offset + 2]!;
    const byte3 = bytes[offset + 3]!;
    const sampleRateIndex = (byte2 >> 2) & 0x0f;
    const sampleRate = ADTS_SAMPLE_RATES[sampleRateIndex];
    if (sampleRate === undefined) return undefined;
    const length = ((byte3 & 0x03) << 11) | (bytes[offset + 4]! << 3) | (bytes[offset + 5]! >> 5);
    const headerBytes = byte1 & 0x01 ? 7 : 9;
    if (length <= headerBytes) return undefined;
    const rawDataBlocks = (bytes[offset + 6]! & 0x03) + 1;
    const profile = byte2 >> 6;
    const channels = ((byte2 & 0x01) << 2) | (byte3 >> 6);
    return {
      length,
      samples: 1024 * rawDataBlocks,
      sampleRate,
      headerBytes,
      sideInformationBytes: 0,
      streamSignature:
        (((byte1 >> 3) & 0x01) << 12) | (profile << 8) | (sampleRateIndex << 3) | channels,
    };
  },
};

export type FrameCheck =
  | { readonly status: 'frame'; readonly header: AudioFrameHeader }
  | { readonly status: 'need-more' }
  | { readonly status: 'invalid' };

/**
 * A frame header at `offset` confirmed by a second header of the same stream right after it
 * (a lone 0xFFE sync pattern occurs by chance in compressed data; two in a row at the computed
 * distance do not).
 */
export function checkConfirmedFrame(
  format: AudioFrameFormat,
  bytes: Uint8Array,
  offset: number,
): FrameCheck {
  if (offset + format.minimumHeaderBytes > bytes.length) {
    return couldStartHeader(format, bytes, offset)
      ? { status: 'need-more' }
      : { status: 'invalid' };
  }
  const header = format.parse(bytes, offset);
  if (header === undefined) return { status: 'invalid' };
  const next = offset + header.length;
  if (next + format.minimumHeaderBytes > bytes.length) return { status: 'need-more' };
  const following = format.parse(bytes, next);
  if (following === undefined || following.streamSignature !== header.streamSignature) {
    return { status: 'invalid' };
  }
  return { status: 'frame', header };
}

function couldStartHeader(format: AudioFrameFormat, bytes: Uint8Array, offset: number): boolean {
  if (offset >= bytes.length) return true;
  if (bytes[offset] !== format.syncByte) return false;
  return offset + 1 >= bytes.length || (bytes[offset + 1]! & 0xe0) === 0xe0;
}

const XING = [0x58, 0x69, 0x6e, 0x67];
const INFO = [0x49, 0x6e, 0x66, 0x6f];
const VBRI = [0x56, 0x42, 0x52, 0x49];

/**
 * True for a layer III frame that carries a Xing/Info or VBRI tag instead of audio: decoders
 * output nothing for it, so it adds no media time.
 */
export function isMp3InformationFrame(
  bytes: Uint8Array,
  offset: number,
  header: AudioFrameHeader,
): boolean {
  if (header.sideInformationBytes === 0) return false;
  const tagOffset = offset + header.headerBytes + header.sideInformationBytes;
  const matches = (pattern: number[], at: number): boolean =>
    pattern.every((value, index) => bytes[at + index] === value);
  return matches(XING, tagOffset) || matches(INFO, tagOffset) || matches(VBRI, offset + 36);
}
