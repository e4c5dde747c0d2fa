import { describe, expect, it } from 'vitest';
import { fillStreamBytes, streamOffsetOf } from './stream-content.js';

describe('stream content', () => {
  it('a piece says where it starts', () => {
    const piece = new Uint8Array(1024);
    fillStreamBytes(piece, 8 * 1000);
    expect(streamOffsetOf(piece)).toBe(8000);
    expect(streamOffsetOf(piece.subarray(16, 512))).toBe(8016);
  });

  it('a corrupted or spliced piece is detected', () => {
    const piece = new Uint8Array(64);
    fillStreamBytes(piece, 0);
    const corrupt = piece.slice();
    corrupt[20] = corrupt[20]! ^ 1;
    expect(streamOffsetOf(corrupt)).toBe(-1);
    const other = new Uint8Array(32);
    fillStreamBytes(other, 800);
    const spliced = new Uint8Array([...piece.subarray(0, 32), ...other]);
    expect(streamOffsetOf(spliced)).toBe(-1);
    expect(streamOffsetOf(piece.subarray(0, 12))).toBe(-1);
  });
});
