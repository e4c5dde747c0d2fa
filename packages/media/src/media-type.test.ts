import { describe, expect, it } from 'vitest';
import { detectMediaType, mimeTypeOf } from './media-type.js';
import { adtsFrame, ascii, concat, ebmlElement, mp3Frame, opusStream } from './testing.js';

const ogg = concat(...opusStream(2));
const webm = ebmlElement(0x1a45dfa3, concat(ebmlElement(0x4282, ascii('webm'))));
const matroska = ebmlElement(0x1a45dfa3, concat(ebmlElement(0x4282, ascii('matroska'))));
const mp3 = concat(mp3Frame(), mp3Frame(), mp3Frame());
const id3 = concat(ascii('ID3'), new Uint8Array([4, 0, 0, 0, 0, 0, 0, 5]), new Uint8Array(5));
const adts = concat(adtsFrame(200), adtsFrame(180), adtsFrame(190));

describe('detectMediaType', () => {
  it.each([
    ['Ogg capture pattern', ogg, 'ogg', 'audio/ogg'],
    ['EBML header (webm)', webm, 'webm', 'video/webm'],
    ['EBML header (matroska)', matroska, 'webm', 'video/x-matroska'],
    ['MPEG audio frames', mp3, 'mp3', 'audio/mpeg'],
    ['ID3v2 tag then frames', concat(id3, mp3), 'mp3', 'audio/mpeg'],
    ['ADTS frames', adts, 'aac-adts', 'audio/aac'],
    ['MP3 joined mid-frame', concat(new Uint8Array([1, 2, 3]), mp3), 'mp3', 'audio/mpeg'],
  ] as const)('sniffs %s', (_name, bytes, kind, mimeType) => {
    const detected = detectMediaType({ firstBytes: bytes });
    expect(detected).toMatchObject({ kind, mimeType, decidedBy: 'bytes', hintsDisagree: false });
  });

  it('does not take a single frame sync for MP3 (needs the next frame at the computed length)', () => {
    const lone = concat(mp3Frame().subarray(0, 100));
    expect(detectMediaType({ firstBytes: lone }).kind).toBe('unknown');
  });

  it('lets the bytes win over a wrong Content-Type and extension, and says so', () => {
    const detected = detectMediaType({
      contentType: 'audio/mpeg',
      fileName: 'x.mp3',
      firstBytes: ogg,
    });
    expect(detected).toMatchObject({ kind: 'ogg', decidedBy: 'bytes', hintsDisagree: true });
  });

  it('uses the Content-Type (parameters ignored), then the extension, when bytes say nothing', () => {
    expect(
      detectMediaType({ contentType: 'audio/mpeg; charset=x', fileName: 'a.ogg' }),
    ).toMatchObject({
      kind: 'mp3',
      decidedBy: 'content-type',
      hintsDisagree: true,
    });
    expect(
      detectMediaType({ contentType: 'application/octet-stream', fileName: '/radio/a.OPUS?x=1' }),
    ).toMatchObject({
      kind: 'ogg',
      mimeType: 'audio/ogg',
      decidedBy: 'file-name',
    });
    expect(detectMediaType({ fileName: 'noext', firstBytes: new Uint8Array(16) })).toEqual({
      kind: 'unknown',
      mimeType: 'application/octet-stream',
      decidedBy: 'none',
      hintsDisagree: false,
    });
  });

  it('keeps the video Content-Type of an Ogg/WebM server', () => {
    expect(detectMediaType({ contentType: 'video/ogg' }).mimeType).toBe('video/ogg');
    expect(detectMediaType({ contentType: 'audio/webm' }).mimeType).toBe('audio/webm');
  });

  it('maps every kind to a MIME type', () => {
    expect(mimeTypeOf('aac-adts')).toBe('audio/aac');
    expect(mimeTypeOf('unknown')).toBe('application/octet-stream');
  });
});
