import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MediaKind } from './media-type.js';
import { createSyncScanner, findSyncPoint } from './sync-scanner.js';
import {
  adtsFrame,
  concat,
  dataPacket,
  ebmlElement,
  mp3Frame,
  oggPage,
  opusStream,
  sliceAt,
} from './testing.js';

function scan(kind: MediaKind, parts: Uint8Array[]): number {
  const scanner = createSyncScanner(kind);
  let found = -1;
  for (const part of parts) {
    const result = scanner.push(part);
    if (result >= 0) {
      expect(found).toBe(-1); // reported once
      found = result;
    }
  }
  expect(scanner.syncOffset).toBe(found);
  return found;
}

/** Noise that contains near-misses: sync bytes, "OggS" without a valid CRC, a bare Cluster ID. */
const noise = concat(
  dataPacket(37),
  new Uint8Array([0xff, 0xfb, 0x90, 0x00, 0x4f, 0x67, 0x67, 0x53, 0x00, 0x00]),
  new Uint8Array([0x1f, 0x43, 0xb6, 0x75, 0x81, 0x00, 0xff, 0xf1]),
  dataPacket(20, 3),
);

const cases: { kind: MediaKind; stream: Uint8Array; expected: number }[] = (() => {
  const opusPages = opusStream(3);
  const mp3 = concat(mp3Frame(9, 0), mp3Frame(9, 1), mp3Frame(11, 0), mp3Frame(9, 0));
  const adts = concat(adtsFrame(300), adtsFrame(256), adtsFrame(410));
  const cluster = ebmlElement(
    0x1f43b675,
    concat(ebmlElement(0xe7, new Uint8Array([0])), dataPacket(30)),
  );
  return [
    // Starting mid-page: the tail of a data page, then whole pages.
    {
      kind: 'ogg',
      stream: concat(noise, opusPages[2]!.subarray(40), opusPages[3]!, opusPages[4]!),
      expected: noise.length + opusPages[2]!.length - 40,
    },
    {
      kind: 'mp3',
      stream: concat(noise, mp3.subarray(100)),
      expected: noise.length + mp3Frame().length - 100,
    },
    { kind: 'aac-adts', stream: concat(noise, adts.subarray(5)), expected: noise.length + 295 },
    { kind: 'webm', stream: concat(noise, cluster, cluster), expected: noise.length },
  ];
})();

describe('createSyncScanner', () => {
  it.each(cases)(
    'finds the first $kind sync point after noise and a partial unit',
    ({ kind, stream, expected }) => {
      expect(findSyncPoint(kind, stream)).toBe(expected);
    },
  );

  it.each(cases)(
    'finds the same $kind sync point whatever the slicing',
    ({ kind, stream, expected }) => {
      fc.assert(
        fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 20 }), (cuts) => {
          expect(scan(kind, sliceAt(stream, cuts))).toBe(expected);
        }),
        { numRuns: 200 },
      );
    },
  );

  it('finds it byte by byte too', () => {
    for (const { kind, stream, expected } of cases) {
      const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
      expect(scan(kind, bytes)).toBe(expected);
    }
  });

  it('skips Ogg header pages: a late player already got them with the header', () => {
    const pages = opusStream(2);
    expect(findSyncPoint('ogg', concat(...pages))).toBe(pages[0]!.length + pages[1]!.length);
  });

  it('rejects an Ogg page whose CRC does not match', () => {
    const page = oggPage({ granule: 960n, packets: [dataPacket(100)] });
    const damaged = page.slice();
    damaged[60] = damaged[60]! ^ 1;
    expect(findSyncPoint('ogg', damaged)).toBe(-1);
    expect(findSyncPoint('ogg', concat(damaged, page))).toBe(damaged.length);
  });

  it('needs the following MP3 frame header before confirming', () => {
    const scanner = createSyncScanner('mp3');
    const frame = mp3Frame();
    expect(scanner.push(frame)).toBe(-1);
    expect(scanner.push(mp3Frame().subarray(0, 3))).toBe(-1);
    expect(scanner.push(mp3Frame().subarray(3, 4))).toBe(0);
    expect(scanner.push(mp3Frame())).toBe(-1);
    expect(scanner.bytesSeen).toBe(frame.length * 2 + 4);
  });

  it('never reports a sync point in random bytes that a decoder would not accept', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        expect(findSyncPoint('ogg', bytes)).toBe(-1);
      }),
    );
  });

  it('takes any byte of an unknown stream', () => {
    expect(findSyncPoint('unknown', new Uint8Array([9, 9]))).toBe(0);
  });
});
