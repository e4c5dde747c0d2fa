import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeDatagram,
  decodeFrame,
  encodeDatagram,
  encodeFrame,
  FRAME_PREFIX_BYTES,
  FrameDecoder,
} from '../src/index.js';
import { datagramArbitraries, frameArbitraries, frameMessage } from './arbitraries.js';

describe('round trip of every datagram message (fast-check)', () => {
  it.each(Object.entries(datagramArbitraries))('%s: decode(encode(m)) equals m', (_, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (message) => {
        const bytes = encodeDatagram(message);
        expect(decodeDatagram(bytes)).toEqual({ ok: true, message });
      }),
      { numRuns: 400 },
    );
  });
});

describe('round trip of every frame message (fast-check)', () => {
  it.each(Object.entries(frameArbitraries))('%s: decode(encode(m)) equals m', (_, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (message) => {
        const frame = encodeFrame(message);
        const bodyLength = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
        expect(bodyLength).toBe(frame.length - FRAME_PREFIX_BYTES);
        expect(decodeFrame(frame.subarray(FRAME_PREFIX_BYTES))).toEqual({ ok: true, message });
      }),
      { numRuns: 300 },
    );
  });

  it('FrameDecoder reassembles any sequence of frames cut at any points', () => {
    fc.assert(
      fc.property(
        fc.array(frameMessage, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          // A plain Uint8Array copy: decoded byte fields are views of it, compared by type too.
          const stream = new Uint8Array(
            Buffer.concat(messages.map((message) => encodeFrame(message))),
          );
          const decoder = new FrameDecoder();
          const results = [];
          let offset = 0;
          for (let index = 0; offset < stream.length; index++) {
            const size = cuts[index % cuts.length]!;
            decoder.push(stream.subarray(offset, offset + size));
            offset += size;
            results.push(...decoder);
          }
          expect(decoder.bufferedBytes).toBe(0);
          expect(results).toEqual(messages.map((message) => ({ ok: true, message })));
        },
      ),
      { numRuns: 300 },
    );
  });
});
