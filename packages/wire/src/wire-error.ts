import { errorCodes, P2pspError, type P2pspErrorTable } from './p2psp-error.js';

/**
 * Thrown when the CALLER misused the API (an out-of-range field given to an encoder, a bad
 * option), never for bad network input (decoders return typed results instead). The code is
 * stable; the message names the field and the fix.
 */
export type WireErrorCode = 'P2PSP_ERR_WIRE_ENCODE' | 'P2PSP_ERR_WIRE_OPTION';

export const WIRE_ERRORS: P2pspErrorTable<WireErrorCode> = {
  P2PSP_ERR_WIRE_ENCODE: { kind: 'usage', message: 'a value does not fit the wire format' },
  P2PSP_ERR_WIRE_OPTION: { kind: 'usage', message: 'a codec option is out of range' },
};

export const WIRE_ERROR_CODES = errorCodes(WIRE_ERRORS);

export class WireError extends P2pspError<WireErrorCode> {
  override readonly name = 'WireError';

  constructor(
    code: WireErrorCode,
    /** The message field or option at fault, e.g. `chunk.payload` or `maxFrameBytes`. */
    readonly field: string,
    message: string = WIRE_ERRORS[code].message,
  ) {
    super(code, WIRE_ERRORS[code], `${field}: ${message}`, { details: { field } });
  }
}

export function encodeError(field: string, message: string): WireError {
  return new WireError('P2PSP_ERR_WIRE_ENCODE', field, message);
}
