import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MediaKind } from './media-type.js';
import { parseOggPage } from './ogg.js';
import { createPacer, type PacedPiece, type Pacer, type PacerOptions } from './pacer.js';
import {
  adtsFrame,
  ascii,
  concat,
  dataPacket,
  ebmlElement,
  mp3Frame,
  oggPage,
  opusStream,
  sliceAt,
  vorbisHeader,
  vorbisIdentification,
} from './testing.js';

function pacerFor(kind: MediaKind, options: PacerOptions = {}): Pacer {
  const created = createPacer(kind, options);
  if (!created.ok) throw created.error;
  return created.pacer;
}

function run(pacer: Pacer, parts: Uint8Array[]): PacedPiece[] {
  const pieces: PacedPiece[] = [];
  for (const part of parts) pieces.push(...pacer.push(part));
  pieces.push(...pacer.end());
  return pieces;
}

describe('createPacer: Ogg', () => {
  it('times Opus pages from granule positions minus pre-skip (RFC 7845 section 4)', () => {
    const pages = opusStream(3, 5); // 5 x 20 ms per page
    const pieces = run(pacerFor('ogg'), pages);
    expect(
      pieces.map((piece) => [piece.role, piece.mediaTimeMicros, piece.durationMicros]),
    ).toEqual([
      ['header', 0, 0],
      ['header', 0, 0],
      ['media', 0, 100_000],
      ['media', 100_000, 100_000],
      ['media', 200_000, 100_000],
    ]);
  });

  it('times Vorbis pages at the identification header sample rate', () => {
    const serial = 5;
    const pages = [
      oggPage({ serial, flags: 2, packets: [vorbisIdentification(32_000)] }),
      oggPage({ serial, sequence: 1, packets: [vorbisHeader(3, 20), vorbisHeader(5, 50)] }),
      oggPage({ serial, sequence: 2, granule: 16_000n, packets: [dataPacket(80)] }),
      oggPage({
        serial,
        sequence: 3,
        granule: -1n,
        packets: [dataPacket(255)],
        lastContinues: true,
      }),
      oggPage({ serial, sequence: 4, granule: 48_000n, flags: 1, packets: [dataPacket(10)] }),
    ];
    const pieces = run(pacerFor('ogg'), [concat(...pages)]);
    expect(pieces.slice(2).map((piece) => [piece.mediaTimeMicros, piece.durationMicros])).toEqual([
      [0, 500_000],
      [500_000, 0], // no packet ends on it: granule -1
      [500_000, 1_000_000],
    ]);
  });

  it('passes every byte through unchanged, in any slicing (without loop)', () => {
    const stream = concat(dataPacket(9), ...opusStream(4), ascii('trailing junk'));
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 15 }), (cuts) => {
        const pieces = run(pacerFor('ogg'), sliceAt(stream, cuts));
        expect(concat(...pieces.map((piece) => piece.bytes))).toEqual(stream);
        expect(pieces.filter((piece) => piece.role === 'media')).toHaveLength(4);
      }),
    );
  });

  it('loops as one continuous logical stream: headers once, sequence and granules continue, no EOS', () => {
    const pages = opusStream(2, 5);
    const pacer = pacerFor('ogg', { loop: true });
    const first = run(pacer, pages);
    const second = [...pacer.restart(), ...run(pacer, pages)];
    expect(pacer.pass).toBe(2);
    expect(first.map((piece) => piece.role)).toEqual(['header', 'header', 'media', 'media']);
    expect(second.map((piece) => piece.role)).toEqual(['media', 'media']);
    const parsed = [...first, ...second].slice(2).map((piece) => {
      const result = parseOggPage(piece.bytes, 0); // CRC recomputed, or this fails
      if (result.status !== 'page') throw new Error('invalid page after loop rewriting');
      return result.page;
    });
    expect(parsed.map((page) => page.sequenceNumber)).toEqual([2, 3, 4, 5]);
    expect(parsed.map((page) => page.granulePosition)).toEqual([
      5112n,
      9912n,
      9912n + 5112n,
      9912n + 9912n,
    ]);
    expect(parsed.every((page) => (page.headerType & 4) === 0)).toBe(true);
    expect(second.map((piece) => piece.mediaTimeMicros)).toEqual([200_000, 300_000]);
    expect(pacer.mediaTimeMicros).toBe(400_000);
  });

  it('asks for --bitrate when no stream has known timing, and uses it when given', () => {
    const pages = [
      oggPage({ serial: 3, flags: 2, packets: [ascii('mystery')] }),
      oggPage({ serial: 3, sequence: 1, granule: 5n, packets: [dataPacket(100)] }),
    ];
    expect(() => run(pacerFor('ogg'), pages)).toThrow(/--bitrate/);
    const pieces = run(pacerFor('ogg', { bitrate: 8000 }), pages);
    expect(pieces[1]).toMatchObject({
      role: 'media',
      mediaTimeMicros: 0,
      durationMicros: pages[1]!.length * 1000,
    });
  });
});

describe('createPacer: MP3 and ADTS', () => {
  it('times MP3 frames by samples per frame / sample rate from each header (VBR)', () => {
    // 1152 samples at 44.1 kHz (26122 us) then at 48 kHz would be another stream; here VBR bit rates.
    const frames = [mp3Frame(9), mp3Frame(14), mp3Frame(5, 1), mp3Frame(9)];
    const pieces = run(pacerFor('mp3'), sliceAt(concat(...frames), [3, 500, 501, 900]));
    expect(pieces.map((piece) => piece.bytes.length)).toEqual(frames.map((frame) => frame.length));
    expect(pieces.map((piece) => piece.mediaTimeMicros)).toEqual([0, 26_122, 52_245, 78_367]);
    expect(pacerFor('mp3').timing).toBe('container');
  });

  it('labels a leading ID3v2 tag, a Xing frame and trailing junk as metadata', () => {
    const tag = concat(ascii('ID3'), new Uint8Array([3, 0, 0, 0, 0, 0, 20]), dataPacket(20));
    const xing = mp3Frame();
    xing.set(ascii('Xing'), 4 + 32);
    const stream = concat(tag, xing, mp3Frame(), mp3Frame(), ascii('TAG'), dataPacket(125));
    const pieces = run(pacerFor('mp3'), [stream]);
    expect(pieces.map((piece) => piece.role)).toEqual([
      'metadata',
      'metadata',
      'media',
      'media',
      'metadata',
    ]);
    expect(concat(...pieces.map((piece) => piece.bytes))).toEqual(stream);
    expect(pieces.map((piece) => piece.mediaTimeMicros)).toEqual([0, 0, 0, 26_122, 52_245]);
  });

  it('drops tags and junk after the first pass when looping', () => {
    const tag = concat(ascii('ID3'), new Uint8Array([3, 0, 0, 0, 0, 0, 4]), dataPacket(4));
    const stream = concat(tag, mp3Frame(), mp3Frame(), ascii('TAG'), dataPacket(125));
    const pacer = pacerFor('mp3', { loop: true });
    const first = run(pacer, [stream]);
    const second = [...pacer.restart(), ...run(pacer, [stream])];
    expect(first.map((piece) => piece.role)).toEqual(['metadata', 'media', 'media']);
    expect(second.map((piece) => piece.role)).toEqual(['media', 'media']);
    expect(second[0]!.mediaTimeMicros).toBe(52_245);
  });

  it('times ADTS frames at 1024 samples per raw data block', () => {
    const frames = [adtsFrame(300), adtsFrame(200), adtsFrame(250)];
    const pieces = run(pacerFor('aac-adts'), [concat(...frames)]);
    expect(pieces.map((piece) => piece.mediaTimeMicros)).toEqual([0, 23_220, 46_440]);
    expect(pieces.map((piece) => piece.durationMicros)).toEqual([23_220, 23_220, 23_220]);
  });
});

describe('createPacer: WebM', () => {
  const ebmlHeader = ebmlElement(0x1a45dfa3, ebmlElement(0x4282, ascii('webm')));
  const segmentHead = ebmlElement(0x18538067, null);
  // TimestampScale 1 ms (the default, written explicitly), then a track.
  const info = ebmlElement(0x1549a966, ebmlElement(0x2ad7b1, new Uint8Array([0x0f, 0x42, 0x40])));
  const tracks = ebmlElement(0x1654ae6b, dataPacket(20));
  /** A SimpleBlock of track 1 at `relative` ms from its Cluster. */
  const block = (relative: number) =>
    ebmlElement(
      0xa3,
      concat(new Uint8Array([0x81, (relative >> 8) & 0xff, relative & 0xff, 0x80]), dataPacket(50)),
    );
  const cluster = (timestamp: number, relatives: number[], unknownSize = false) => {
    const body = concat(
      ebmlElement(0xe7, new Uint8Array([(timestamp >> 8) & 0xff, timestamp & 0xff])),
      ...relatives.map(block),
    );
    return unknownSize
      ? concat(ebmlElement(0x1f43b675, null), body)
      : ebmlElement(0x1f43b675, body);
  };
  const cues = ebmlElement(0x1c53bb6b, dataPacket(12));
  const stream = concat(
    ebmlHeader,
    segmentHead,
    info,
    tracks,
    cluster(0, [0, 20, 40]),
    cluster(60, [0, 20], true),
    cues,
  );

  it('times blocks from Cluster Timestamp + relative timestamp x TimestampScale, in any slicing', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 10 }), (cuts) => {
        const pacer = pacerFor('webm');
        const pieces = run(pacer, sliceAt(stream, cuts));
        expect(pacer.timing).toBe('container');
        expect(concat(...pieces.map((piece) => piece.bytes))).toEqual(stream);
        expect(pieces.map((piece) => [piece.role, piece.mediaTimeMicros])).toEqual([
          ['header', 0],
          ['media', 0],
          ['media', 20_000],
          ['media', 40_000],
          ['media', 60_000],
          ['media', 80_000],
          ['metadata', 80_000],
        ]);
        expect(pieces[0]!.bytes.length).toBe(
          ebmlHeader.length + segmentHead.length + info.length + tracks.length,
        );
        expect(pacer.mediaTimeMicros).toBe(100_000); // the last block lasts as long as the spacing
      }),
      { numRuns: 50 },
    );
  });

  it('loops with the init segment once, unknown-size Clusters and continuing timestamps', () => {
    const pacer = pacerFor('webm', { loop: true });
    run(pacer, [stream]);
    const second = [...pacer.restart(), ...run(pacer, [stream])];
    expect(second.map((piece) => piece.role)).toEqual([
      'media',
      'media',
      'media',
      'media',
      'media',
    ]);
    expect(second[0]!.mediaTimeMicros).toBe(100_000);
    // Cluster ID, unknown size, then Timestamp as 8 bytes: 100 ms after the first pass's 0.
    const first = second[0]!.bytes;
    expect(Array.from(first.subarray(0, 12))).toEqual([
      0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(Array.from(first.subarray(12, 22))).toEqual([0xe7, 0x88, 0, 0, 0, 0, 0, 0, 0, 100]);
  });
});

describe('createPacer: by bit rate', () => {
  it('requires a bit rate for an unknown stream, naming --bitrate', () => {
    const created = createPacer('unknown');
    expect(created.ok).toBe(false);
    if (!created.ok) {
      expect(created.error.code).toBe('P2PSP_ERR_MEDIA_BITRATE_REQUIRED');
      expect(created.error.message).toMatch(/--bitrate/);
    }
    const bad = createPacer('mp3', { bitrate: -5 });
    expect(bad.ok || bad.error.code).toBe('P2PSP_ERR_MEDIA_INVALID_OPTION');
  });

  it('cuts into pieces timed at bytes x 8 / bitrate', () => {
    const stream = dataPacket(2500);
    const pacer = pacerFor('unknown', { bitrate: 80_000, pieceBytes: 1000 });
    const pieces = run(pacer, sliceAt(stream, [5, 33, 700]));
    expect(pacer.timing).toBe('bitrate');
    expect(concat(...pieces.map((piece) => piece.bytes))).toEqual(stream);
    expect(pieces.reduce((sum, piece) => sum + piece.durationMicros, 0)).toBe(stream.length * 100);
    const again = [...pacer.restart(), ...run(pacer, [stream])];
    expect(again[0]!.mediaTimeMicros).toBe(stream.length * 100);
  });
});
