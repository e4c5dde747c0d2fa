import { P2pspError } from '@p2psp/wire';
import { PEER_ERRORS, type PeerRuntimeErrorCode } from '../core/errors.js';

export type { PeerRuntimeErrorCode } from '../core/errors.js';

/** A problem of the operator's setup (not of the protocol). */
export class PeerRuntimeError extends P2pspError<PeerRuntimeErrorCode> {
  override readonly name = 'PeerRuntimeError';

  constructor(code: PeerRuntimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, PEER_ERRORS[code], message, options);
  }
}
