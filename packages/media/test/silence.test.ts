// Silence in a stream's own format (createSilence), checked by decoding it with ffmpeg: it
// must decode with no error, last as long as it says, be silent, and follow a real stream
// (MP3: the same frame parameters; Ogg Opus: the next link of a chain).
import { spawnSync } from 'node:child_process';
import { ensureSystemTools, FFMPEG } from '@p2psp/testkit';
import { describe, expect, it } from 'vitest';
import { createSilence, detectMediaType, type MediaKind } from '../src/index.js';
import { concat } from '../src/testing.js';

// Installs ffmpeg when missing (as root); throws in CI if still missing.
const missing = ensureSystemTools([FFMPEG]);

function ffmpeg(args: readonly string[], input?: Uint8Array) {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', ...args], {
    input,
    maxBuffer: 64 << 20,
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr?.toString() ?? '' };
}

/** Two seconds of a 440 Hz tone, encoded live by ffmpeg. */
function tone(encode: readonly string[]): Uint8Array {
  const result = ffmpeg([
    ...['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2'],
    ...encode,
    'pipe:1',
  ]);
  expect(result.stderr).toBe('');
  return result.stdout;
}

/** Decodes with -xerror; returns the errors, the decoded seconds and the loudest sample (dB). */
function decode(bytes: Uint8Array) {
  const result = ffmpeg(
    ['-xerror', '-i', 'pipe:0', '-af', 'volumedetect', '-f', 'null', '-'],
    bytes,
  );
  const times = [...result.stderr.matchAll(/time=(\d+):(\d+):(\d+\.\d+)/g)].at(-1);
  const seconds = times ? Number(times[1]) * 3600 + Number(times[2]) * 60 + Number(times[3]) : 0;
  const loudest = /max_volume: (-?[\d.]+|-inf) dB/.exec(result.stderr)?.[1];
  const errors = result.stderr
    .split('\n')
    .filter((line) => /error|invalid/i.test(line))
    .join('\n');
  return { status: result.status, errors, seconds, loudest: Number(loudest ?? Number.NaN) };
}

function seconds(kind: MediaKind, start: Uint8Array, wanted: number): Uint8Array {
  const silence = createSilence(kind, start);
  if (silence === null) throw new Error(`no silence for ${kind}`);
  const parts = [silence.header];
  let micros = 0;
  while (micros < wanted * 1e6) {
    const piece = silence.next();
    parts.push(piece.bytes);
    micros += piece.durationMicros;
  }
  return concat(...parts);
}

const STREAMS = [
  ['MP3 128 kbit/s stereo', 'mp3', ['-c:a', 'libmp3lame', '-b:a', '128k', '-ac', '2', '-f', 'mp3']],
  [
    'MP3 32 kbit/s mono 24 kHz (MPEG-2)',
    'mp3',
    ['-c:a', 'libmp3lame', '-b:a', '32k', '-ac', '1', '-ar', '24000', '-f', 'mp3'],
  ],
  ['MP2 (layer II)', 'mp3', ['-c:a', 'mp2', '-b:a', '192k', '-f', 'mp2']],
  ['Ogg Opus stereo', 'ogg', ['-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-f', 'ogg']],
  ['Ogg Opus mono', 'ogg', ['-c:a', 'libopus', '-b:a', '32k', '-ac', '1', '-f', 'ogg']],
  ['AAC-LC stereo (ADTS)', 'aac-adts', ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'adts']],
  [
    'AAC-LC mono 44.1 kHz (ADTS)',
    'aac-adts',
    ['-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '44100', '-f', 'adts'],
  ],
] as const;

describe.skipIf(missing.length > 0)(
  `createSilence, decoded by ffmpeg ${missing.join(', ')}`,
  () => {
    it.each(STREAMS)(
      '%s: 3 s of silence decode cleanly, alone and after the real stream',
      (_name, kind, encode) => {
        const real = tone(encode);
        expect(detectMediaType({ firstBytes: real }).kind).toBe(kind);
        const silence = seconds(kind, real, 3);
        const alone = decode(silence);
        expect(alone.errors).toBe('');
        expect(alone.status).toBe(0);
        expect(alone.seconds).toBeGreaterThan(2.9);
        expect(alone.seconds).toBeLessThan(3.3);
        expect(alone.loudest).toBeLessThan(-80);
        // As many bytes a second as the stream (a cluster cuts its chunks at the same pace).
        expect(silence.byteLength / 3 / (real.byteLength / 2)).toBeGreaterThan(0.75);
        expect(silence.byteLength / 3 / (real.byteLength / 2)).toBeLessThan(1.25);
        // The real stream then the silence (for Ogg, a chain of two logical streams).
        const joined = decode(concat(real, silence));
        expect(joined.errors).toBe('');
        expect(joined.status).toBe(0);
        expect(joined.seconds).toBeGreaterThan(4.8);
      },
    );

    it('has none for Vorbis, WebM or AAC beyond stereo (those need an encoder), nor for bytes it cannot read', () => {
      expect(createSilence('aac-adts', tone(['-c:a', 'aac', '-ac', '6', '-f', 'adts']))).toBeNull();
      expect(createSilence('ogg', tone(['-c:a', 'libvorbis', '-f', 'ogg']))).toBeNull();
      expect(createSilence('webm', tone(['-c:a', 'libopus', '-f', 'webm']))).toBeNull();
      expect(createSilence('mp3', new Uint8Array(100))).toBeNull();
      expect(createSilence('ogg', new Uint8Array(100))).toBeNull();
    });
  },
);
