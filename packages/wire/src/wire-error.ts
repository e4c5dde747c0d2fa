/**
 * Thrown when the CALLER misused the API (an out-of-range field given to an encoder, a bad
 * option), never for bad network input (decoders return typed results instead). The code is
 * stable; the message names the field and the fix.
 */
export type WireErrorCode = 'P2PSP_ERR_WIRE_ENCODE' | 'P2PSP_ERR_WIRE_OPTION';

export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: WireErrorCode,
    /** The message field or option at fault, e.g. `chunk.payload` or `maxFrameBytes`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function encodeError(field: string, message: string): WireError {
  return new WireError('P2PSP_ERR_WIRE_ENCODE', field, message);
}
