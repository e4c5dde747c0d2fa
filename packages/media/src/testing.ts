// Hand-built byte fixtures for tests (@p2psp/media/testing): Ogg pages (with a CRC computed
// independently of src/crc32.ts), Opus and Vorbis header packets, MP3 and ADTS frames, EBML elements.

/** Bitwise (table-free) Ogg CRC-32: polynomial 0x04C11DB7, no reflection, init 0. */
export function referenceOggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    }
    crc >>>= 0;
  }
  return crc >>> 0;
}

export interface OggPageSpec {
  readonly serial?: number;
  readonly sequence?: number;
  readonly granule?: bigint;
  readonly flags?: number; // 1 continued, 2 BOS, 4 EOS
  /** Packets laced on this page; `lastContinues` leaves the last one unfinished. */
  readonly packets: readonly Uint8Array[];
  readonly lastContinues?: boolean;
}

export function oggPage(spec: OggPageSpec): Uint8Array {
  const lacing: number[] = [];
  spec.packets.forEach((packet, index) => {
    let remaining = packet.length;
    while (remaining >= 255) {
      lacing.push(255);
      remaining -= 255;
    }
    const isLast = index === spec.packets.length - 1;
    if (!(isLast && spec.lastContinues)) lacing.push(remaining);
  });
  const bodyLength = spec.packets.reduce((sum, packet) => sum + packet.length, 0);
  const page = new Uint8Array(27 + lacing.length + bodyLength);
  const view = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0);
  page[4] = 0;
  page[5] = spec.flags ?? 0;
  view.setBigInt64(6, spec.granule ?? 0n, true);
  view.setUint32(14, spec.serial ?? 0x1234, true);
  view.setUint32(18, spec.sequence ?? 0, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let offset = 27 + lacing.length;
  for (const packet of spec.packets) {
    page.set(packet, offset);
    offset += packet.length;
  }
  view.setUint32(22, referenceOggCrc(page), true);
  return page;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** A filler packet whose bytes cannot be mistaken for a header or a capture pattern. */
export function dataPacket(length: number, seed = 7): Uint8Array {
  const packet = new Uint8Array(length);
  for (let index = 0; index < length; index++) packet[index] = (seed + index * 13) % 64;
  return packet;
}

export function opusHead(preSkip = 312): Uint8Array {
  const head = new Uint8Array(19);
  head.set(ascii('OpusHead'), 0);
  head[8] = 1; // version
  head[9] = 2; // channels
  new DataView(head.buffer).setUint16(10, preSkip, true);
  new DataView(head.buffer).setUint32(12, 48_000, true);
  return head;
}

export function opusTags(): Uint8Array {
  return concat(ascii('OpusTags'), new Uint8Array([4, 0, 0, 0]), ascii('test'), new Uint8Array(4));
}

export function vorbisIdentification(sampleRate: number): Uint8Array {
  const packet = new Uint8Array(30);
  packet[0] = 1;
  packet.set(ascii('vorbis'), 1);
  const view = new DataView(packet.buffer);
  view.setUint32(7, 0, true); // version
  packet[11] = 2; // channels
  view.setUint32(12, sampleRate, true);
  packet[29] = 1; // framing bit
  return packet;
}

export function vorbisHeader(type: 3 | 5, length: number): Uint8Array {
  const packet = dataPacket(length, type);
  packet[0] = type;
  packet.set(ascii('vorbis'), 1);
  return packet;
}

/** A minimal Ogg/Opus stream: 2 header pages, then `pages` data pages of 20 ms packets. */
export function opusStream(pages: number, packetsPerPage = 5, serial = 0x1234): Uint8Array[] {
  const result = [
    oggPage({ serial, sequence: 0, flags: 2, packets: [opusHead()] }),
    oggPage({ serial, sequence: 1, packets: [opusTags()] }),
  ];
  let granule = 312n;
  for (let index = 0; index < pages; index++) {
    granule += BigInt(960 * packetsPerPage);
    const packets = Array.from({ length: packetsPerPage }, (_, packet) =>
      dataPacket(60 + packet, index),
    );
    result.push(
      oggPage({
        serial,
        sequence: 2 + index,
        granule,
        flags: index === pages - 1 ? 4 : 0,
        packets,
      }),
    );
  }
  return result;
}

/** An MPEG-1 layer III frame header (44.1 kHz, no CRC, stereo) followed by filler. */
export function mp3Frame(bitrateIndex = 9, padding = 0, sampleRateIndex = 0): Uint8Array {
  const bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
  const rates = [44_100, 48_000, 32_000];
  const length =
    Math.floor((144 * bitrates[bitrateIndex]! * 1000) / rates[sampleRateIndex]!) + padding;
  const frame = dataPacket(length, bitrateIndex);
  frame[0] = 0xff;
  frame[1] = 0xfb; // MPEG-1, layer III, no CRC
  frame[2] = (bitrateIndex << 4) | (sampleRateIndex << 2) | (padding << 1);
  frame[3] = 0x00; // stereo
  return frame;
}

/** An ADTS frame (AAC LC, 44.1 kHz, stereo, no CRC) of `length` bytes. */
export function adtsFrame(length: number): Uint8Array {
  const frame = dataPacket(length, 3);
  frame[0] = 0xff;
  frame[1] = 0xf1;
  frame[2] = (1 << 6) | (4 << 2) | 0; // profile LC (1), 44.1 kHz (index 4), channel config high bit 0
  frame[3] = (2 << 6) | ((length >> 11) & 0x03);
  frame[4] = (length >> 3) & 0xff;
  frame[5] = ((length & 0x07) << 5) | 0x1f;
  frame[6] = 0xfc; // buffer fullness low bits, 1 raw data block
  return frame;
}

/** An EBML element with a 1-byte... 8-byte size as needed (unknown size when size is null). */
export function ebmlElement(id: number, body: Uint8Array | null): Uint8Array {
  const idBytes: number[] = [];
  for (let value = id; value > 0; value = Math.floor(value / 256)) idBytes.unshift(value & 0xff);
  if (body === null) {
    return concat(
      Uint8Array.from(idBytes),
      Uint8Array.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    );
  }
  const size = Uint8Array.from([
    0x10,
    (body.length >> 16) & 0xff,
    (body.length >> 8) & 0xff,
    body.length & 0xff,
  ]);
  return concat(Uint8Array.from(idBytes), size, body);
}

/** Splits bytes at the given cut points. */
export function sliceAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.min(bytes.length, Math.max(0, cut))))].sort(
    (a, b) => a - b,
  );
  const parts: Uint8Array[] = [];
  let previous = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(bytes.subarray(previous, point));
    previous = point;
  }
  return parts;
}
