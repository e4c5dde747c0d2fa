/**
 * What a decoder returns. Decoding network input never throws (project rule 3: a node
 * never crashes on network input): it gives the message, or a typed error the caller drops
 * and counts.
 */

/**
 * - `unknown-type`: the type byte names no message (or a TCP frame type in a datagram, and
 *   the reverse). New types may be added within a protocol version, so old nodes say this.
 * - `truncated`: the input ends before the message does.
 * - `bad-version`: the first byte is not `PROTOCOL_VERSION`.
 * - `bad-length`: a length field is over its maximum, or bytes follow the end of the message.
 * - `bad-value`: a field holds a value the format does not allow (an unknown enum code, a
 *   reserved flag bit set, invalid UTF-8, an inconsistent page).
 * - `frame-too-large`: a TCP frame declares a body longer than the decoder's `maxFrameBytes`.
 */
export type DecodeErrorCode =
  | 'unknown-type'
  | 'truncated'
  | 'bad-version'
  | 'bad-length'
  | 'bad-value'
  | 'frame-too-large';

export interface DecodeError {
  readonly code: DecodeErrorCode;
  /** A human-readable detail naming the field, for logs. Not stable: match on `code`. */
  readonly detail: string;
}

export type DecodeResult<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly error: DecodeError };

/** Every decode error code, for exhaustive counters and tests. */
export const DECODE_ERROR_CODES: readonly DecodeErrorCode[] = [
  'unknown-type',
  'truncated',
  'bad-version',
  'bad-length',
  'bad-value',
  'frame-too-large',
];

/** Thrown inside the decoders to unwind; always caught and turned into a result. */
export class DecodeFailure {
  constructor(
    readonly code: DecodeErrorCode,
    readonly detail: string,
  ) {}
}

export function failure(code: DecodeErrorCode, detail: string): { ok: false; error: DecodeError } {
  return { ok: false, error: { code, detail } };
}

/**
 * Turns anything a decoder threw into a result. A `DecodeFailure` is expected; anything else
 * is a decoder bug, still reported as a result (never rethrown) with a detail the fuzz tests
 * look for, so such bugs fail the tests instead of crashing a node.
 */
export function failureFrom(thrown: unknown): { ok: false; error: DecodeError } {
  if (thrown instanceof DecodeFailure) return failure(thrown.code, thrown.detail);
  return failure('bad-value', `internal decoder error: ${String(thrown)}`);
}
