// ID3v2 tag length (id3.org ID3v2.4.0-structure section 3.1). Internal.

/**
 * Length of an ID3v2 tag starting at `offset` (header, body and optional footer), 0 when
 * there is none, undefined when more bytes are needed to tell.
 */
export function id3v2TagLength(bytes: Uint8Array, offset: number): number | undefined {
  const available = bytes.length - offset;
  const signature = [0x49, 0x44, 0x33]; // "ID3"
  for (let index = 0; index < Math.min(3, available); index++) {
    if (bytes[offset + index] !== signature[index]) return 0;
  }
  if (available < 10) return undefined;
  const sizeBytes = [
    bytes[offset + 6]!,
    bytes[offset + 7]!,
    bytes[offset + 8]!,
    bytes[offset + 9]!,
  ];
  // Version 0xFF and sizes with the top bit set are invalid: not a tag.
  if (bytes[offset + 3] === 0xff || bytes[offset + 4] === 0xff) return 0;
  if (sizeBytes.some((value) => value & 0x80)) return 0;
  // Syncsafe integer: 4 x 7 bits.
  const size = (sizeBytes[0]! << 21) | (sizeBytes[1]! << 14) | (sizeBytes[2]! << 7) | sizeBytes[3]!;
  const hasFooter = (bytes[offset + 5]! & 0x10) !== 0;
  return 10 + size + (hasFooter ? 10 : 0);
}
