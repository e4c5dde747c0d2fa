import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHeaderCapture } from './header-capture.js';
import {
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

function captureAll(kind: Parameters<typeof createHeaderCapture>[0], parts: Uint8Array[]) {
  const capture = createHeaderCapture(kind);
  for (const part of parts) capture.push(part);
  return capture;
}

describe('createHeaderCapture: Ogg', () => {
  const opus = opusStream(4);
  const opusBytes = concat(...opus);
  const headerLength = opus[0]!.length + opus[1]!.length;

  it('captures OpusHead + OpusTags pages and says where data begins, in any slicing', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: opusBytes.length }), { maxLength: 12 }), (cuts) => {
        const capture = captureAll('ogg', sliceAt(opusBytes, cuts));
        expect(capture.status).toBe('complete');
        expect(capture.header).toEqual(opusBytes.subarray(0, headerLength));
        expect(capture.dataOffset).toBe(headerLength);
      }),
    );
  });

  it('reports need-more until the last header page is whole', () => {
    const capture = createHeaderCapture('ogg');
    expect(capture.push(opusBytes.subarray(0, headerLength - 1))).toBe('need-more');
    expect(capture.dataOffset).toBe(-1);
    expect(capture.push(opusBytes.subarray(headerLength - 1, headerLength))).toBe('complete');
  });

  it('captures Vorbis headers whose setup packet spans pages', () => {
    const serial = 77;
    const setup = vorbisHeader(5, 700);
    const pages = [
      oggPage({ serial, flags: 2, packets: [vorbisIdentification(44_100)] }),
      oggPage({
        serial,
        sequence: 1,
        packets: [vorbisHeader(3, 40), setup.subarray(0, 510)],
        lastContinues: true,
      }),
      oggPage({ serial, sequence: 2, flags: 1, packets: [setup.subarray(510)] }),
      oggPage({ serial, sequence: 3, granule: 4096n, packets: [dataPacket(100)] }),
    ];
    const capture = captureAll('ogg', [concat(...pages)]);
    expect(capture.status).toBe('complete');
    expect(capture.header).toEqual(concat(pages[0]!, pages[1]!, pages[2]!));
  });

  it('captures every logical stream of a multiplexed file (BOS pages first)', () => {
    const audio = 1;
    const other = 2;
    const pages = [
      oggPage({ serial: audio, flags: 2, packets: [vorbisIdentification(48_000)] }),
      oggPage({ serial: other, flags: 2, packets: [ascii('unknown-codec')] }),
      oggPage({ serial: audio, sequence: 1, packets: [vorbisHeader(3, 30), vorbisHeader(5, 90)] }),
      oggPage({ serial: other, sequence: 1, granule: 10n, packets: [dataPacket(50)] }),
    ];
    const capture = captureAll('ogg', [concat(...pages)]);
    expect(capture.header).toEqual(concat(pages[0]!, pages[1]!, pages[2]!));
    expect(capture.dataOffset).toBe(pages[0]!.length + pages[1]!.length + pages[2]!.length);
  });

  it('fails with a message naming the problem for a stream that does not start with BOS pages', () => {
    const capture = captureAll('ogg', [concat(...opus.slice(2))]);
    expect(capture.status).toBe('failed');
    expect(capture.error?.code).toBe('P2PSP_ERR_MEDIA_MALFORMED');
    expect(capture.error?.message).toMatch(/beginning-of-stream/);
  });

  it('fails on a page with a bad CRC', () => {
    const broken = opusBytes.slice();
    broken[30] = broken[30]! ^ 0xff;
    const capture = captureAll('ogg', [broken]);
    expect(capture.status).toBe('failed');
    expect(capture.error?.message).toMatch(/CRC/);
  });

  it('gives up past maxHeaderBytes', () => {
    const capture = createHeaderCapture('ogg', { maxHeaderBytes: 40 });
    expect(capture.push(opusBytes)).toBe('failed');
    expect(capture.error?.code).toBe('P2PSP_ERR_MEDIA_HEADER_TOO_LARGE');
    expect(() => createHeaderCapture('ogg', { maxHeaderBytes: 0 })).toThrow(/maxHeaderBytes/);
  });
});

describe('createHeaderCapture: WebM', () => {
  const ebmlHeader = ebmlElement(0x1a45dfa3, ebmlElement(0x4282, ascii('webm')));
  const info = ebmlElement(0x1549a966, ebmlElement(0x2ad7b1, new Uint8Array([0x0f, 0x42, 0x40])));
  const tracks = ebmlElement(0x1654ae6b, ebmlElement(0xae, dataPacket(40)));
  const cluster = ebmlElement(
    0x1f43b675,
    concat(ebmlElement(0xe7, new Uint8Array([0])), ebmlElement(0xa3, dataPacket(30))),
  );

  it.each([
    ['unknown-size Segment (live)', null],
    ['known-size Segment (file)', 'known'],
  ] as const)('captures the init segment of a %s, rewriting the size to unknown', (_name, mode) => {
    const children = concat(info, tracks, cluster);
    const segment =
      mode === null
        ? ebmlElement(0x18538067, null)
        : ebmlElement(0x18538067, children).subarray(0, 8);
    const stream = concat(ebmlHeader, segment, children);
    const expectedHeader = concat(
      ebmlHeader,
      new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      info,
      tracks,
    );
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 8 }), (cuts) => {
        const capture = captureAll('webm', sliceAt(stream, cuts));
        expect(capture.status).toBe('complete');
        expect(capture.header).toEqual(expectedHeader);
        expect(capture.dataOffset).toBe(stream.length - cluster.length);
      }),
    );
  });

  it('fails on bytes that are not EBML', () => {
    const capture = captureAll('webm', [ascii('OggS and more bytes')]);
    expect(capture.status).toBe('failed');
    expect(capture.error?.code).toBe('P2PSP_ERR_MEDIA_MALFORMED');
  });
});

describe('createHeaderCapture: MP3, ADTS, unknown', () => {
  it('needs no header and skips a leading ID3v2 tag (syncsafe size, ID3v2.4 section 3.1)', () => {
    const tag = concat(ascii('ID3'), new Uint8Array([4, 0, 0, 0, 0, 1, 0]), new Uint8Array(128));
    const capture = createHeaderCapture('mp3');
    expect(capture.push(tag.subarray(0, 5))).toBe('need-more');
    expect(capture.push(concat(tag.subarray(5), mp3Frame()))).toBe('complete');
    expect(capture.header).toHaveLength(0);
    expect(capture.dataOffset).toBe(138);
  });

  it('completes at once without a tag', () => {
    expect(createHeaderCapture('aac-adts').push(mp3Frame())).toBe('complete');
    const unknown = createHeaderCapture('unknown');
    expect(unknown.push(new Uint8Array([1]))).toBe('complete');
    expect(unknown.dataOffset).toBe(0);
  });
});
