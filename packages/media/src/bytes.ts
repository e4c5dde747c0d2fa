// Small byte helpers shared by the parsers (internal).

export const EMPTY = new Uint8Array(0);

/** The bytes of `parts`, in order, in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** True when `bytes` holds `pattern` at `offset` (false when it runs past the end). */
export function matchesAt(bytes: Uint8Array, offset: number, pattern: readonly number[]): boolean {
  if (offset < 0 || offset + pattern.length > bytes.length) return false;
  for (let index = 0; index < pattern.length; index++) {
    if (bytes[offset + index] !== pattern[index]) return false;
  }
  return true;
}

export function asciiBytes(text: string): number[] {
  return Array.from(text, (character) => character.charCodeAt(0));
}

export function readUint32LittleEndian(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! |
      (bytes[offset + 1]! << 8) |
      (bytes[offset + 2]! << 16) |
      (bytes[offset + 3]! << 24)) >>>
    0
  );
}

export function readUint16LittleEndian(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

export function writeUint32LittleEndian(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/** A signed 64-bit little-endian integer as a bigint (Ogg granule positions). */
export function readInt64LittleEndian(bytes: Uint8Array, offset: number): bigint {
  const low = BigInt(readUint32LittleEndian(bytes, offset));
  const high = BigInt(readUint32LittleEndian(bytes, offset + 4));
  return BigInt.asIntN(64, (high << 32n) | low);
}

export function writeInt64LittleEndian(bytes: Uint8Array, offset: number, value: bigint): void {
  const unsigned = BigInt.asUintN(64, value);
  writeUint32LittleEndian(bytes, offset, Number(unsigned & 0xffffffffn));
  writeUint32LittleEndian(bytes, offset + 4, Number(unsigned >> 32n));
}

/**
 * Bytes received but not yet consumed, addressed by absolute stream offset. Parsers append
 * each push and drop what they consumed; absolute offsets survive the compaction.
 */
export class ByteWindow {
  private buffer: Uint8Array = EMPTY;
  /** Absolute stream offset of buffer[0]. */
  private start = 0;

  /** Absolute offset just past the last byte received. */
  get end(): number {
    return this.start + this.buffer.length;
  }

  /** Absolute offset of the first byte still held. */
  get first(): number {
    return this.start;
  }

  /** The held bytes (index 0 = absolute offset `first`). Do not keep across calls. */
  get bytes(): Uint8Array {
    return this.buffer;
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.buffer.length === 0) {
      this.buffer = bytes.slice();
      return;
    }
    this.buffer = concatBytes([this.buffer, bytes]);
  }

  /** Copies the bytes between two absolute offsets. */
  slice(from: number, to: number): Uint8Array {
    return this.buffer.slice(from - this.start, to - this.start);
  }

  /** Forgets everything before the absolute offset `offset`. */
  discardBefore(offset: number): void {
    if (offset <= this.start) return;
    const drop = Math.min(offset - this.start, this.buffer.length);
    this.buffer = drop === this.buffer.length ? EMPTY : this.buffer.subarray(drop);
    this.start += drop;
  }

  clear(): void {
    this.start = this.end;
    this.buffer = EMPTY;
  }
}
