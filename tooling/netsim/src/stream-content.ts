/**
 * Synthetic stream bytes whose content encodes their own position, so a receiver can check
 * order and integrity of every chunk it plays without a copy of the stream. The stream is
 * a sequence of 8-byte records: the record index (u32, big-endian) and the index XOR a
 * constant. Any chunk whose size is a multiple of 8 and that starts on a record boundary
 * (the source cuts fixed-size chunks from byte 0) says where in the stream it came from.
 */

export const RECORD_BYTES = 8;
const CHECK_MASK = 0x5a3c_96e1;

/** Fills `target` with the stream bytes starting at stream offset `offset` (a multiple of 8). */
export function fillStreamBytes(target: Uint8Array, offset: number): void {
  if (offset % RECORD_BYTES !== 0 || target.length % RECORD_BYTES !== 0) {
    throw new RangeError('stream pieces must start and end on 8-byte record boundaries');
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let record = offset / RECORD_BYTES;
  for (let position = 0; position < target.length; position += RECORD_BYTES) {
    view.setUint32(position, record >>> 0);
    view.setUint32(position + 4, (record ^ CHECK_MASK) >>> 0);
    record += 1;
  }
}

/**
 * The stream offset a payload starts at, or -1 when the payload is not an intact, contiguous
 * piece of the stream (corrupt, truncated to a non-record size, or spliced).
 */
export function streamOffsetOf(payload: Uint8Array): number {
  if (payload.length === 0 || payload.length % RECORD_BYTES !== 0) return -1;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const first = view.getUint32(0);
  for (let position = 0, record = first; position < payload.length; position += RECORD_BYTES) {
    if (view.getUint32(position) !== record >>> 0) return -1;
    if (view.getUint32(position + 4) !== (record ^ CHECK_MASK) >>> 0) return -1;
    record += 1;
  }
  return first * RECORD_BYTES;
}
