#!/usr/bin/env node
// Regenerates assets/demo.mp3 (run once by a maintainer; the file is committed, so the demo
// needs no ffmpeg at run time). Needs ffmpeg and espeak-ng (Debian packages of those names).
// The music is the main theme of Beethoven's "Ode to Joy" (public domain), synthesised with
// ffmpeg's aevalsrc from plain sine tones; espeak-ng says "P 2 P S P demo" first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const output = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo.mp3');
const beatSeconds = 0.5; // 120 beats per minute
const melodyStart = 2; // seconds of voice before the tune

const hertz = { G3: 196.0, C4: 261.63, D4: 293.66, E4: 329.63, F4: 349.23, G4: 392.0 };
// [note, beats]: A A B A' (16 bars of 4 beats).
const phraseStart = ['E4', 'E4', 'F4', 'G4', 'G4', 'F4', 'E4', 'D4', 'C4', 'C4', 'D4', 'E4'];
const melody = [
  ...phraseStart.map((note) => [note, 1]),
  ['E4', 1.5],
  ['D4', 0.5],
  ['D4', 2],
  ...phraseStart.map((note) => [note, 1]),
  ['D4', 1.5],
  ['C4', 0.5],
  ['C4', 2],
  ['D4', 1],
  ['D4', 1],
  ['E4', 1],
  ['C4', 1],
  ['D4', 1],
  ['E4', 0.5],
  ['F4', 0.5],
  ['E4', 1],
  ['C4', 1],
  ['D4', 1],
  ['E4', 0.5],
  ['F4', 0.5],
  ['E4', 1],
  ['D4', 1],
  ['C4', 1],
  ['D4', 1],
  ['G3', 2],
  ...phraseStart.map((note) => [note, 1]),
  ['D4', 1.5],
  ['C4', 0.5],
  ['C4', 2],
];
// One bass root per bar (C major / G major), an octave below the tune.
const bassRoots = [
  130.81, 98.0, 130.81, 98.0, 130.81, 98.0, 130.81, 130.81, 98.0, 130.81, 98.0, 130.81, 130.81,
  98.0, 130.81, 130.81,
];

const terms = [];
let beat = 0;
for (const [note, beats] of melody) {
  const start = (melodyStart + beat * beatSeconds).toFixed(3);
  const length = (beats * beatSeconds).toFixed(3);
  const frequency = hertz[note];
  // Soft 15 ms attack, exponential decay, 30 ms release (no click at the cut), a quiet second
  // harmonic: a mellow bell-like tone.
  const local = `(t-${start})`;
  const envelope = `min(1,${local}/0.015)*min(1,(${length}-${local})/0.03)*exp(-2.5*${local})`;
  terms.push(
    `between(t,${start},${start}+${length})*${envelope}*(sin(2*PI*${frequency}*${local})+0.25*sin(4*PI*${frequency}*${local}))`,
  );
  beat += beats;
}
bassRoots.forEach((frequency, bar) => {
  const start = (melodyStart + bar * 4 * beatSeconds).toFixed(3);
  const local = `(t-${start})`;
  terms.push(
    `0.35*between(t,${start},${start}+2)*min(1,${local}/0.03)*min(1,(2-${local})/0.05)*exp(-1.2*${local})*sin(2*PI*${frequency}*${local})`,
  );
});
const duration = melodyStart + beat * beatSeconds + 1;
const expression = `0.3*(${terms.join('+')})`;

const work = mkdtempSync(join(tmpdir(), 'p2psp-demo-'));
try {
  const voice = join(work, 'voice.wav');
  execFileSync('espeak-ng', ['-s', '140', '-w', voice, 'P 2 P S P demo']);
  const ffmpegArguments = [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=exprs='${expression}':sample_rate=44100:duration=${duration}`,
    '-i',
    voice,
    '-filter_complex',
    '[1:a]aresample=44100,volume=0.8[voice];[0:a][voice]amix=inputs=2:duration=first:normalize=0,pan=stereo|c0=c0|c1=c0[mix]',
    '-map',
    '[mix]',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    '-ar',
    '44100',
    '-ac',
    '2',
    '-map_metadata',
    '-1',
    '-id3v2_version',
    '0',
    '-write_xing',
    '0',
    output,
  ];
  execFileSync('ffmpeg', ffmpegArguments, { stdio: 'inherit' });
  console.log(`wrote ${output} (${duration} s)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
