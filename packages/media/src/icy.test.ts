import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes.js';
import { IcyInterleaver, IcyMetadataStripper, icyMetadataBlock } from './icy.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('ICY metadata blocks', () => {
  it('writes a block as Icecast does: length byte, StreamTitle, NUL padding to 16', () => {
    const block = icyMetadataBlock('Hi');
    expect(block[0]).toBe(2);
    expect(text(block.subarray(1))).toBe(`StreamTitle='Hi';${'\0'.repeat(15)}`);
    expect(icyMetadataBlock('é'.repeat(3000)).length).toBe(1 + 255 * 16);
  });

  it('puts a block after every interval bytes across pushes, the text once per change', () => {
    let title = { text: 'A', version: 1 };
    const framing = new IcyInterleaver(4, () => title);
    const first = framing.push(Uint8Array.of(1, 2, 3));
    const second = framing.push(Uint8Array.of(4, 5, 6, 7, 8, 9));
    title = { text: 'B', version: 2 };
    const third = framing.push(Uint8Array.of(10, 11, 12, 13));
    const a = icyMetadataBlock('A');
    const b = icyMetadataBlock('B');
    expect([...concatBytes([first, second, third])]).toEqual([
      ...[1, 2, 3, 4],
      ...a,
      ...[5, 6, 7, 8],
      0,
      ...[9, 10, 11, 12],
      ...b,
      13,
    ]);
  });

  it('reads back what it writes, at any slicing, with the titles in order', () => {
    let title = { text: 'Ode to Joy', version: 1 };
    const framing = new IcyInterleaver(8, () => title);
    const media = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz0123456789');
    const raw = concatBytes([
      framing.push(media.subarray(0, 20)),
      (() => {
        title = { text: "Sinnerman ('65)", version: 2 };
        return framing.push(media.subarray(20));
      })(),
    ]);
    for (const slice of [1, 3, 7, raw.byteLength]) {
      const stripper = new IcyMetadataStripper(8);
      const out: Uint8Array[] = [];
      const titles: string[] = [];
      for (let offset = 0; offset < raw.byteLength; offset += slice) {
        const result = stripper.push(raw.subarray(offset, offset + slice));
        out.push(result.media);
        titles.push(...result.titles);
      }
      expect(text(concatBytes(out))).toBe(text(media));
      expect(titles).toEqual(['Ode to Joy', "Sinnerman ('65)"]);
    }
  });
});
