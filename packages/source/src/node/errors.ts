import { P2pspError } from '@p2psp/wire';
import { SOURCE_ERRORS, type SourceRuntimeErrorCode } from '../core/errors.js';

export type { SourceRuntimeErrorCode } from '../core/errors.js';

/** A problem of the operator's setup (not of the protocol): message says what to change. */
export class SourceRuntimeError extends P2pspError<SourceRuntimeErrorCode> {
  override readonly name = 'SourceRuntimeError';

  constructor(code: SourceRuntimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, SOURCE_ERRORS[code], message, options);
  }
}
