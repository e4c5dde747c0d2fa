// Real media made by ffmpeg: header capture + a late sync point must decode with no errors,
// sync scanning must not depend on slicing, and paced media time must match ffprobe.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSystemTools, FFMPEG } from '@p2psp/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHeaderCapture,
  createPacer,
  createSyncScanner,
  detectMediaType,
  findSyncPoint,
  type MediaKind,
  type PacedPiece,
  type Pacer,
} from '../src/index.js';
import { concat, sliceAt } from '../src/testing.js';

const missing = ensureSystemTools([FFMPEG]);
const SECONDS = 6;
// A gliding tone plus a little noise, so VBR encoders vary their frame sizes.
const SIGNAL = `aevalsrc=0.4*sin(2*PI*(300+100*sin(t))*t)+0.05*(random(0)-0.5):d=${SECONDS}:s=44100`;

interface Sample {
  readonly name: string;
  readonly kind: MediaKind;
  readonly mimeType: string;
  /** ffmpeg output options. */
  readonly encode: readonly string[];
  /** One frame of this codec, the tolerance of the duration check. */
  readonly frameMicros: number;
  /** ffmpeg writes to a pipe (a live stream: unknown sizes). */
  readonly piped?: boolean;
  /** Adds a 15 frame/s test picture. */
  readonly video?: boolean;
}

const SAMPLES: readonly Sample[] = [
  {
    name: 'opus.ogg',
    kind: 'ogg',
    mimeType: 'audio/ogg',
    encode: ['-c:a', 'libopus', '-b:a', '64k'],
    frameMicros: 20_000,
  },
  {
    name: 'vorbis.ogg',
    kind: 'ogg',
    mimeType: 'audio/ogg',
    encode: ['-c:a', 'libvorbis', '-q:a', '3'],
    frameMicros: 46_440,
  },
  {
    // Video + audio: two logical streams, header pages of both (Theora 3, Vorbis 3).
    name: 'video.ogv',
    kind: 'ogg',
    mimeType: 'video/ogg',
    encode: ['-c:v', 'libtheora', '-q:v', '5', '-c:a', 'libvorbis', '-q:a', '2'],
    frameMicros: 66_667,
    video: true,
  },
  {
    name: 'cbr.mp3',
    kind: 'mp3',
    mimeType: 'audio/mpeg',
    encode: ['-c:a', 'libmp3lame', '-b:a', '128k'],
    frameMicros: 26_123,
  },
  {
    name: 'vbr.mp3',
    kind: 'mp3',
    mimeType: 'audio/mpeg',
    encode: ['-c:a', 'libmp3lame', '-q:a', '4'],
    frameMicros: 26_123,
  },
  {
    name: 'audio.aac',
    kind: 'aac-adts',
    mimeType: 'audio/aac',
    encode: ['-c:a', 'aac', '-b:a', '96k', '-f', 'adts'],
    frameMicros: 23_220,
  },
  {
    name: 'opus.webm',
    kind: 'webm',
    mimeType: 'video/webm',
    encode: ['-c:a', 'libopus', '-f', 'webm'],
    frameMicros: 20_000,
  },
  {
    name: 'live.webm',
    kind: 'webm',
    mimeType: 'video/webm',
    encode: ['-c:a', 'libopus', '-f', 'webm'],
    frameMicros: 20_000,
    piped: true,
  },
];

let directory = '';
const files = new Map<string, Uint8Array>();

function run(command: string, args: readonly string[], input?: Uint8Array) {
  const result = spawnSync(command, args, { input, maxBuffer: 64 << 20, timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr?.toString() ?? '' };
}

/** Decodes bytes from stdin; returns ffmpeg's complaints (empty = clean). */
function decodeErrors(bytes: Uint8Array): string {
  const result = run('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'null', '-'], bytes);
  return result.status === 0 ? result.stderr : `exit ${result.status}: ${result.stderr}`;
}

/** Decoded duration in seconds (the last "time=" of ffmpeg's progress). */
function decodedSeconds(bytes: Uint8Array): number {
  const result = run('ffmpeg', ['-i', 'pipe:0', '-f', 'null', '-'], bytes);
  const times = [...result.stderr.matchAll(/time=(\d+):(\d+):(\d+\.\d+)/g)];
  const last = times.at(-1);
  if (!last) throw new Error(`no duration in ffmpeg output: ${result.stderr}`);
  return Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]);
}

function probeSeconds(path: string): number {
  const result = run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0'],
    path,
  ]);
  return Number(result.stdout.toString().trim());
}

function pace(pacer: Pacer, parts: readonly Uint8Array[]): PacedPiece[] {
  const pieces: PacedPiece[] = [];
  for (const part of parts) pieces.push(...pacer.push(part));
  pieces.push(...pacer.end());
  return pieces;
}

function newPacer(kind: MediaKind, loop = false): Pacer {
  const created = createPacer(kind, { loop });
  if (!created.ok) throw created.error;
  return created.pacer;
}

function bytesOf(name: string): Uint8Array {
  const bytes = files.get(name);
  if (!bytes) throw new Error(`${name} was not generated`);
  return bytes;
}

describe.skipIf(missing.length > 0)(`real media from ffmpeg ${missing.join(', ')}`, () => {
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'p2psp-media-'));
    for (const sample of SAMPLES) {
      const path = join(directory, sample.name);
      const output = sample.piped ? ['pipe:1'] : [path];
      const result = run('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', SIGNAL],
        ...(sample.video ? ['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=15:d=${SECONDS}`] : []),
        ...['-ac', '2'],
        ...sample.encode,
        ...output,
      ]);
      expect(result.stderr).toBe('');
      files.set(
        sample.name,
        sample.piped ? new Uint8Array(result.stdout) : new Uint8Array(readFileSync(path)),
      );
    }
  }, 60_000);

  afterAll(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  describe.each(SAMPLES)('$name', (sample) => {
    it('is detected from its bytes', () => {
      const detected = detectMediaType({ firstBytes: bytesOf(sample.name).subarray(0, 16_384) });
      expect(detected).toMatchObject({
        kind: sample.kind,
        mimeType: sample.mimeType,
        decidedBy: 'bytes',
      });
    });

    it('decodes with no errors from header + a late sync point', () => {
      const bytes = bytesOf(sample.name);
      const capture = createHeaderCapture(sample.kind);
      expect(capture.push(bytes)).toBe('complete');
      expect(decodeErrors(concat(capture.header, bytes.subarray(capture.dataOffset)))).toBe('');
      for (const fraction of [0.37, 0.71]) {
        const start = Math.floor(bytes.length * fraction);
        const relative = findSyncPoint(sample.kind, bytes.subarray(start));
        expect(relative).toBeGreaterThan(0);
        const late = concat(capture.header, bytes.subarray(start + relative));
        expect(decodeErrors(late)).toBe('');
        // The late joiner really starts late: it decodes about (1 - fraction) of the media.
        expect(decodedSeconds(late)).toBeLessThan(SECONDS * (1 - fraction) + 1);
      }
    });

    it('finds the same sync point whatever the slicing', () => {
      const bytes = bytesOf(sample.name);
      fc.assert(
        fc.property(
          fc.nat({ max: bytes.length - 20_000 }),
          fc.array(fc.nat({ max: 20_000 }), { maxLength: 30 }),
          (start, cuts) => {
            const tail = bytes.subarray(start);
            const expected = findSyncPoint(sample.kind, tail);
            const scanner = createSyncScanner(sample.kind);
            let found = -1;
            for (const part of sliceAt(tail, cuts)) {
              const result = scanner.push(part);
              if (result >= 0) found = result;
            }
            expect(found).toBe(expected);
            expect(expected).toBeGreaterThanOrEqual(0);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('paces to the duration ffprobe reports, within one frame', () => {
      const bytes = bytesOf(sample.name);
      const pacer = newPacer(sample.kind);
      const pieces = pace(pacer, sliceAt(bytes, [1000, 4096, 4097, 20_000, 33_333]));
      expect(concat(...pieces.map((piece) => piece.bytes))).toEqual(bytes);
      // ADTS has no duration field (ffprobe estimates it from the bit rate) and a piped WebM none
      // either: use the decoded duration there.
      const expectedMicros =
        sample.kind === 'aac-adts' || sample.piped
          ? decodedSeconds(bytes) * 1e6
          : probeSeconds(join(directory, sample.name)) * 1e6;
      expect(Math.abs(pacer.mediaTimeMicros - expectedMicros)).toBeLessThanOrEqual(
        sample.frameMicros,
      );
      // Times never go backwards and pieces are whole units of the container.
      const times = pieces.map((piece) => piece.mediaTimeMicros);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const media = pieces.filter((piece) => piece.role === 'media');
      if (sample.kind === 'webm') {
        // One piece per block; those that open a Cluster are sync points.
        const clusterStarts = media.filter((piece) => findSyncPoint('webm', piece.bytes) === 0);
        expect(clusterStarts.length).toBeGreaterThan(0);
        return;
      }
      for (let index = 0; index + 1 < media.length; index++) {
        expect(
          findSyncPoint(sample.kind, concat(media[index]!.bytes, media[index + 1]!.bytes)),
        ).toBe(0);
      }
    });

    it('tags as header what a capture of the released bytes finds (lateJoinerHeader)', () => {
      const bytes = bytesOf(sample.name);
      const cuts = [1000, 4096, 4097, 20_000, 33_333];
      const released = (lateJoinerHeader: boolean) => {
        const created = createPacer(sample.kind, { lateJoinerHeader });
        if (!created.ok) throw created.error;
        // A source drops metadata (ID3 tags, a Xing frame): it is not part of the stream.
        return pace(created.pacer, sliceAt(bytes, cuts)).filter(
          (piece) => piece.role !== 'metadata',
        );
      };
      // What a source capturing the header from the released bytes (no tags) gets.
      const plain = concat(...released(false).map((piece) => piece.bytes));
      const capture = createHeaderCapture(sample.kind);
      expect(capture.push(plain)).toBe('complete');
      const pieces = released(true);
      const firstMedia = pieces.findIndex((piece) => piece.role === 'media');
      expect(pieces.slice(0, firstMedia).every((piece) => piece.role === 'header')).toBe(true);
      expect(concat(...pieces.slice(0, firstMedia).map((piece) => piece.bytes))).toEqual(
        capture.header,
      );
      expect(concat(...pieces.slice(firstMedia).map((piece) => piece.bytes))).toEqual(
        plain.subarray(capture.dataOffset),
      );
    });

    it('loops into one stream that decodes cleanly, also for a player joining in pass 2', () => {
      const bytes = bytesOf(sample.name);
      const pacer = newPacer(sample.kind, true);
      const first = pace(pacer, [bytes]);
      const second = [...pacer.restart(), ...pace(pacer, sliceAt(bytes, [777, 5000]))];
      expect(pacer.pass).toBe(2);
      const stream = concat(...[...first, ...second].map((piece) => piece.bytes));
      expect(decodeErrors(stream)).toBe('');
      const decoded = decodedSeconds(stream);
      expect(Math.abs(decoded - (2 * pacer.mediaTimeMicros) / 2e6)).toBeLessThan(0.2);
      expect(pacer.mediaTimeMicros).toBeGreaterThan(2 * SECONDS * 1e6 - 0.2e6);
      // A player joining during the second pass: header from the first pass + a sync point.
      const capture = createHeaderCapture(sample.kind);
      capture.push(stream);
      const secondPassStart = stream.length - concat(...second.map((piece) => piece.bytes)).length;
      const start = secondPassStart + 3000;
      const relative = findSyncPoint(sample.kind, stream.subarray(start));
      expect(decodeErrors(concat(capture.header, stream.subarray(start + relative)))).toBe('');
    });
  });
});
