// Network and file input is untrusted (project rule 3): no parser may throw or lose bytes on it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHeaderCapture } from './header-capture.js';
import { detectMediaType, type MediaKind } from './media-type.js';
import { createPacer } from './pacer.js';
import { createSyncScanner } from './sync-scanner.js';
import { adtsFrame, concat, mp3Frame, opusStream, sliceAt } from './testing.js';

const KINDS: readonly MediaKind[] = ['ogg', 'webm', 'mp3', 'aac-adts', 'unknown'];

/** Random bytes, sometimes around real units so parsers get deep before things go wrong. */
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc
    .tuple(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(
        concat(...opusStream(2)),
        concat(mp3Frame(), mp3Frame()),
        concat(adtsFrame(100), adtsFrame(120)),
      ),
      fc.nat(),
      fc.nat({ max: 255 }),
    )
    .map(([prefix, unit, position, value]) => {
      const damaged = concat(prefix, unit);
      damaged[position % damaged.length] = value;
      return damaged;
    }),
);

describe('parsers on hostile input', () => {
  it('never throw, and the pacer passes every byte through', () => {
    fc.assert(
      fc.property(
        hostileBytes,
        fc.array(fc.nat({ max: 3200 }), { maxLength: 8 }),
        fc.constantFrom(...KINDS),
        (bytes, cuts, kind) => {
          const parts = sliceAt(bytes, cuts);
          detectMediaType({ firstBytes: bytes });
          const capture = createHeaderCapture(kind);
          const scanner = createSyncScanner(kind);
          const created = createPacer(kind, { bitrate: 128_000 });
          if (!created.ok) throw created.error;
          const output: Uint8Array[] = [];
          for (const part of parts) {
            capture.push(part);
            const found = scanner.push(part);
            expect(found).toBeLessThan(bytes.length);
            for (const piece of created.pacer.push(part)) output.push(piece.bytes);
          }
          for (const piece of created.pacer.end()) output.push(piece.bytes);
          expect(concat(...output)).toEqual(bytes);
          expect(['need-more', 'complete', 'failed']).toContain(capture.status);
        },
      ),
      { numRuns: 300 },
    );
  });
});
