// EBML variable-size integers and the Matroska/WebM element IDs we need (RFC 8794 section 4;
// Matroska element IDs from RFC 9559 section 5.1). Internal.

export const EBML_HEADER_ID = 0x1a45dfa3;
export const SEGMENT_ID = 0x18538067;
export const CLUSTER_ID = 0x1f43b675;
export const CLUSTER_TIMESTAMP_ID = 0xe7;
export const CRC32_ID = 0xbf;
export const VOID_ID = 0xec;
export const DOCTYPE_ID = 0x4282;

export type VintRead =
  | {
      readonly status: 'value';
      readonly value: number;
      readonly length: number;
      readonly unknown: boolean;
    }
  | { readonly status: 'need-more' }
  | { readonly status: 'invalid' };

/** Length of a VINT from its first byte (RFC 8794 section 4.1), 0 when invalid. */
function vintLength(first: number, maxLength: number): number {
  for (let length = 1; length <= maxLength; length++) {
    if (first & (0x80 >> (length - 1))) return length;
  }
  return 0;
}

/** An element ID: 1 to 4 bytes, marker bit kept (RFC 8794 section 5). */
export function readElementId(bytes: Uint8Array, offset: number): VintRead {
  if (offset >= bytes.length) return { status: 'need-more' };
  const length = vintLength(bytes[offset]!, 4);
  if (length === 0) return { status: 'invalid' };
  if (offset + length > bytes.length) return { status: 'need-more' };
  let value = 0;
  for (let index = 0; index < length; index++) value = value * 256 + bytes[offset + index]!;
  return { status: 'value', value, length, unknown: false };
}

/**
 * An element data size: 1 to 8 bytes, marker bit removed; all value bits set means "unknown
 * size" (RFC 8794 section 6.2), which live Segments and Clusters use.
 */
export function readElementSize(bytes: Uint8Array, offset: number): VintRead {
  if (offset >= bytes.length) return { status: 'need-more' };
  const length = vintLength(bytes[offset]!, 8);
  if (length === 0) return { status: 'invalid' };
  if (offset + length > bytes.length) return { status: 'need-more' };
  let value = bytes[offset]! & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let index = 1; index < length; index++) {
    const byte = bytes[offset + index]!;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  if (allOnes) return { status: 'value', value: 0, length, unknown: true };
  if (value > Number.MAX_SAFE_INTEGER) return { status: 'invalid' };
  return { status: 'value', value, length, unknown: false };
}

/** The 8-byte "unknown size" VINT (RFC 8794 section 6.2). */
export const UNKNOWN_SIZE_VINT = new Uint8Array([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export type ElementHead =
  | {
      readonly status: 'element';
      readonly id: number;
      /** Bytes of ID plus size. */
      readonly headLength: number;
      readonly size: number;
      readonly unknownSize: boolean;
    }
  | { readonly status: 'need-more' }
  | { readonly status: 'invalid' };

export function readElementHead(bytes: Uint8Array, offset: number): ElementHead {
  const id = readElementId(bytes, offset);
  if (id.status !== 'value') return id;
  const size = readElementSize(bytes, offset + id.length);
  if (size.status !== 'value') return size;
  return {
    status: 'element',
    id: id.value,
    headLength: id.length + size.length,
    size: size.value,
    unknownSize: size.unknown,
  };
}
