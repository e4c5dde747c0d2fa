import { ADTS, MPEG_AUDIO } from './audio-frames.js';
import { asciiBytes, concatBytes, EMPTY } from './bytes.js';
import { oggCrc32 } from './crc32.js';
import type { MediaKind } from './media-type.js';
import { FLAG_BEGINNING_OF_STREAM, identifyOggStream, parseOggPage } from './ogg.js';
import { findSyncPoint } from './sync-scanner.js';

/**
 * Silence in a stream's own format, to fill a gap in a live input (a source client that
 * left) with something players decode, so they play on instead of stalling.
 */
export interface Silence {
  /** What a decoder needs first (an Ogg stream's header pages); empty for MPEG audio. */
  readonly header: Uint8Array;
  /** The next piece of silence (about 100 ms) and its duration. */
  next(): { readonly bytes: Uint8Array; readonly durationMicros: number };
}

/** About this much silence per piece: a few frames, so a driver's timer ticks at 10 Hz. */
const PIECE_MICROS = 100_000;

/**
 * Builds silence matching the stream that starts with `streamStart` (its first bytes: a
 * frame header to copy, or the Ogg BOS page; for Ogg Opus the audio pages that follow give
 * the byte rate the silence keeps). Null when this kind or codec has no silence
 * generator: Vorbis and WebM need an encoder; AAC has one only for mono and stereo.
 */
export function createSilence(kind: MediaKind, streamStart: Uint8Array): Silence | null {
  if (kind === 'mp3') return mpegSilence(streamStart);
  if (kind === 'aac-adts') return adtsSilence(streamStart);
  if (kind === 'ogg') return opusSilence(streamStart);
  return null;
}

/**
 * MPEG audio: the stream's own frame header (same version, layer, bit rate, sample rate,
 * channels), without CRC or padding, and an all-zero body. Layer III: zero side information
 * (no main data, global_gain 0) decodes to silence (ISO/IEC 11172-3 2.4.1.7); layers I and
 * II: zero bit allocation codes no samples (2.4.1.5, 2.4.1.6).
 */
function mpegSilence(streamStart: Uint8Array): Silence | null {
  const offset = findSyncPoint('mp3', streamStart);
  if (offset < 0) return null;
  const header = Uint8Array.from(streamStart.subarray(offset, offset + 4));
  header[1]! |= 0x01; // protection_bit 1: no CRC
  header[2]! &= ~0x02; // no padding slot
  const parsed = MPEG_AUDIO.parse(header, 0);
  if (parsed === undefined) return null;
  const frame = new Uint8Array(parsed.length);
  frame.set(header);
  const frameMicros = (parsed.samples * 1_000_000) / parsed.sampleRate;
  const count = Math.max(1, Math.round(PIECE_MICROS / frameMicros));
  const piece = new Uint8Array(frame.length * count);
  for (let index = 0; index < count; index++) piece.set(frame, index * frame.length);
  return {
    header: EMPTY,
    next: () => ({ bytes: piece, durationMicros: frameMicros * count }),
  };
}

/** Writes bit fields most significant bit first, as AAC's bitstream syntax reads them. */
class BitWriter {
  readonly #bytes: number[] = [];
  #bits = 0;

  write(value: number, width: number): void {
    for (let bit = width - 1; bit >= 0; bit--) {
      if (this.#bits % 8 === 0) this.#bytes.push(0);
      this.#bytes[this.#bytes.length - 1]! |= ((value >> bit) & 1) << (7 - (this.#bits % 8));
      this.#bits++;
    }
  }

  get bits(): number {
    return this.#bits;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Syntactic element ids (ISO/IEC 14496-3 section 4.5.2.1.1, Table 4.85). */
const ID_SCE = 0;
const ID_CPE = 1;
const ID_FIL = 6;
const ID_END = 7;
const ADTS_HEADER_BYTES = 7;
/** A fill element's payload: at most 15 + 255 - 1 bytes (Table 4.11, fill_element). */
const MAX_FILL_PAYLOAD = 269;

/**
 * One channel's silence, long window, no scale factor band coded (max_sfb 0: no section,
 * scale factor or spectral data): every coefficient is zero (14496-3 4.6.2, 4.6.3).
 */
function silentIcsInfo(bits: BitWriter): void {
  bits.write(0, 1); // ics_reserved_bit
  bits.write(0, 2); // window_sequence ONLY_LONG_SEQUENCE
  bits.write(0, 1); // window_shape
  bits.write(0, 6); // max_sfb
  bits.write(0, 1); // predictor_data_present
}

function silentChannel(bits: BitWriter, withIcsInfo: boolean): void {
  bits.write(100, 8); // global_gain: no scale factor follows, any value decodes to zero
  if (withIcsInfo) silentIcsInfo(bits);
  bits.write(0, 1); // pulse_data_present
  bits.write(0, 1); // tns_data_present
  bits.write(0, 1); // gain_control_data_present
}

/**
 * AAC in ADTS: the stream's own header (profile, sample rate, channels) on raw data blocks
 * that code zero spectra: an SCE for mono, a CPE with a common window for stereo (14496-3
 * 4.4.2.1). Fill elements (EXT_FILL, 4.4.2.7) pad each frame to the stream's mean frame
 * size, so the silence keeps the stream's byte rate as the Ogg Opus silence does.
 */
function adtsSilence(streamStart: Uint8Array): Silence | null {
  const offset = findSyncPoint('aac-adts', streamStart);
  if (offset < 0) return null;
  const parsed = ADTS.parse(streamStart, offset);
  const byte2 = streamStart[offset + 2]!;
  const channels = ((byte2 & 0x01) << 2) | (streamStart[offset + 3]! >> 6);
  if (parsed === undefined || (channels !== 1 && channels !== 2)) return null;
  // The stream's mean frame size over the frames at hand (an encoder's first frames vary).
  let frames = 0;
  let frameBytes = 0;
  for (let at = offset; ; frames++) {
    const frame = ADTS.parse(streamStart, at);
    if (frame === undefined || at + frame.length > streamStart.length) break;
    frameBytes += frame.length;
    at += frame.length;
  }
  const target = frames === 0 ? parsed.length : Math.round(frameBytes / frames);
  const bits = new BitWriter();
  if (channels === 1) {
    bits.write(ID_SCE, 3);
    bits.write(0, 4); // element_instance_tag
    silentChannel(bits, true);
  } else {
    bits.write(ID_CPE, 3);
    bits.write(0, 4);
    bits.write(1, 1); // common_window
    silentIcsInfo(bits);
    bits.write(0, 2); // ms_mask_present
    silentChannel(bits, false);
    silentChannel(bits, false);
  }
  // Fill elements up to the stream's frame size, to the byte: each costs 3 + 4 bits (plus an
  // 8-bit esc_count for 14 payload bytes or more) and its payload; END costs 3 bits.
  let spare = 8 * (target - ADTS_HEADER_BYTES) - bits.bits - 3;
  while (spare >= 15) {
    const escaped = spare >= 15 + 8 * 14;
    const headerBits = escaped ? 15 : 7;
    let payload = Math.min(escaped ? MAX_FILL_PAYLOAD : 14, Math.floor((spare - headerBits) / 8));
    const left = spare - headerBits - 8 * payload;
    if (left >= 8 && left < 15) payload -= 1; // too little left for another fill element
    bits.write(ID_FIL, 3);
    if (escaped) {
      bits.write(15, 4);
      bits.write(payload - 14, 8); // esc_count: count = 15 + esc_count - 1
    } else {
      bits.write(payload, 4);
    }
    bits.write(0, 4); // extension_type EXT_FILL
    bits.write(0, 4); // fill_nibble
    for (let fill = 1; fill < payload; fill++) bits.write(0xa5, 8); // fill_byte 10100101
    spare -= headerBits + 8 * payload;
  }
  bits.write(ID_END, 3);
  const block = bits.finish();
  const frame = new Uint8Array(ADTS_HEADER_BYTES + block.length);
  frame.set(streamStart.subarray(offset, offset + ADTS_HEADER_BYTES));
  frame[1]! |= 0x01; // protection_absent: no CRC
  // frame_length (13 bits), buffer fullness 0x7FF (variable rate), one raw data block.
  frame[3] = (frame[3]! & 0xfc) | (frame.length >> 11);
  frame[4] = (frame.length >> 3) & 0xff;
  frame[5] = ((frame.length & 0x07) << 5) | 0x1f;
  frame[6] = 0xfc;
  frame.set(block, ADTS_HEADER_BYTES);
  const frameMicros = (1024 * 1_000_000) / parsed.sampleRate;
  const count = Math.max(1, Math.round(PIECE_MICROS / frameMicros));
  const piece = new Uint8Array(frame.length * count);
  for (let index = 0; index < count; index++) piece.set(frame, index * frame.length);
  return {
    header: EMPTY,
    next: () => ({ bytes: piece, durationMicros: frameMicros * count }),
  };
}

const OPUS_FRAME_SAMPLES = 960; // 20 ms at 48 kHz (RFC 7845 section 4: granules count 48 kHz)
/**
 * A 20 ms CELT-only fullband Opus frame coding silence (RFC 6716 section 3.1: TOC config 31;
 * 0xFF 0xFE sets the silence flag): the frame WebRTC sends for muted audio. Padded to
 * `bytes` when that is longer (section 3.2.5: code 3, one CBR frame, padding flag; each
 * padding length byte of 255 means 254 bytes and another length byte), so the silence
 * keeps the stream's byte rate: a cluster cuts its chunks at the same pace, and players
 * get bytes as often as before.
 */
function opusSilentPacket(stereo: boolean, bytes: number): Uint8Array {
  const toc = stereo ? 0xfc : 0xf8;
  // TOC, count byte, at least one padding length byte, the frame.
  if (bytes < 5) return Uint8Array.of(toc, 0xff, 0xfe);
  let padding = bytes - 5;
  const lengths: number[] = [];
  for (;;) {
    if (padding < 255) {
      lengths.push(padding);
      break;
    }
    lengths.push(255);
    padding -= 255; // 254 bytes of padding, and the length byte itself
  }
  const total = lengths.reduce((sum, value) => sum + (value === 255 ? 254 : value), 0);
  const packet = new Uint8Array(2 + lengths.length + 2 + total);
  packet.set([toc | 0x03, 0x41, ...lengths, 0xff, 0xfe]); // code 3; v 0, p 1, M 1
  return packet;
}

/** The largest Opus packet the silence is padded to (RFC 6716 section 3.4 R5, one frame). */
const MAX_OPUS_PACKET = 1275;

/**
 * The stream's Ogg bytes per 48 kHz sample over its audio pages of `serial` in `bytes` (the
 * input's last pages, after its header), or 0 when fewer than two of them are there.
 */
function oggBytesPerSample(bytes: Uint8Array, serial: number): number {
  let first: bigint | null = null;
  let last = 0n;
  let total = 0;
  for (let offset = 0; ; ) {
    const parsed = parseOggPage(bytes, offset);
    if (parsed.status !== 'page') break;
    const { page } = parsed;
    offset = page.offset + page.length;
    // Header pages carry granule 0, pages where no packet ends -1 (RFC 3533 section 6).
    if (page.serialNumber !== serial || page.granulePosition <= 0n) continue;
    // The first page's bytes lie before its granule: the span starts there.
    if (first !== null) total += page.length;
    first ??= page.granulePosition;
    last = page.granulePosition;
  }
  return first === null || last <= first ? 0 : total / Number(last - first);
}

/**
 * Ogg Opus: a new logical stream (RFC 3533 section 4: a chain) with its own OpusHead and
 * OpusTags (RFC 7845 section 5), whose audio pages carry silent frames. Players that stay
 * connected decode it as the next link of a chained stream; other Ogg codecs get null.
 */
function opusSilence(streamStart: Uint8Array): Silence | null {
  const first = parseOggPage(streamStart, 0);
  if (first.status !== 'page' || !(first.page.headerType & FLAG_BEGINNING_OF_STREAM)) return null;
  const { page } = first;
  const packet = streamStart.subarray(page.bodyOffset, page.offset + page.length);
  if (identifyOggStream(packet).codec !== 'opus') return null;
  const channels = packet[9]!;
  // Mapping family 0 covers mono and stereo only (RFC 7845 section 5.1.1.1).
  if (channels < 1 || channels > 2) return null;
  // Another serial than the stream it stands in for: a new link of the chain.
  const serial = (page.serialNumber ^ 0x5113_0000) >>> 0;
  let sequence = 0;
  let granule = 0n;
  const head = new Uint8Array(19);
  head.set([...asciiBytes('OpusHead'), 1, channels]); // version 1
  new DataView(head.buffer).setUint32(12, 48_000, true); // input sample rate; pre-skip 0, gain 0
  const vendor = asciiBytes('p2psp silence');
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  tags.set(asciiBytes('OpusTags'));
  new DataView(tags.buffer).setUint32(8, vendor.length, true);
  tags.set(vendor, 12); // then 0 user comments
  const header = concatBytes([
    oggPage(serial, sequence++, 0n, FLAG_BEGINNING_OF_STREAM, [head]),
    oggPage(serial, sequence++, 0n, 0, [tags]),
  ]);
  const perPage = PIECE_MICROS / 20_000;
  // The Ogg page's own bytes (header and lacing) come out of the packets' share.
  const perPacket = oggBytesPerSample(streamStart, page.serialNumber) * OPUS_FRAME_SAMPLES;
  const target = Math.round(perPacket - (27 + perPage * 2) / perPage);
  const silent = opusSilentPacket(channels === 2, Math.min(MAX_OPUS_PACKET, target));
  return {
    header,
    next() {
      granule += BigInt(OPUS_FRAME_SAMPLES * perPage);
      const packets = Array.from({ length: perPage }, () => silent);
      return {
        bytes: oggPage(serial, sequence++, granule, 0, packets),
        durationMicros: PIECE_MICROS,
      };
    },
  };
}

/** One Ogg page (RFC 3533 section 6) holding whole packets each under 255 bytes. */
function oggPage(
  serial: number,
  sequence: number,
  granule: bigint,
  flags: number,
  packets: readonly Uint8Array[],
): Uint8Array {
  const lacing = packets.flatMap((packet) => {
    const values: number[] = [];
    let remaining = packet.length;
    for (; remaining >= 255; remaining -= 255) values.push(255);
    values.push(remaining);
    return values;
  });
  const body = concatBytes(packets);
  const page = new Uint8Array(27 + lacing.length + body.length);
  const view = new DataView(page.buffer);
  page.set([...asciiBytes('OggS'), 0, flags]); // version 0, header type
  view.setBigInt64(6, granule, true);
  view.setUint32(14, serial, true);
  view.setUint32(18, sequence, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  page.set(body, 27 + lacing.length);
  view.setUint32(22, oggCrc32(page), true);
  return page;
}
