// CRC-32 as Ogg uses it (RFC 3533 section 6): polynomial 0x04C11DB7, initial value 0,
// no reflection of input or output, no final XOR. This is NOT the zlib/PNG CRC-32
// (reflected, 0xEDB88320), so node:zlib's crc32 cannot be used.

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let remainder = index << 24;
    for (let bit = 0; bit < 8; bit++) {
      remainder = remainder & 0x80000000 ? (remainder << 1) ^ 0x04c11db7 : remainder << 1;
    }
    table[index] = remainder >>> 0;
  }
  return table;
})();

/** Continues a CRC over `bytes[from, to)`. */
export function oggCrc32(bytes: Uint8Array, from = 0, to = bytes.length, initial = 0): number {
  let crc = initial >>> 0;
  for (let index = from; index < to; index++) {
    crc = ((crc << 8) ^ TABLE[((crc >>> 24) ^ bytes[index]!) & 0xff]!) >>> 0;
  }
  return crc;
}
