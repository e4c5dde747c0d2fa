/** Why the peer runtime could not start or keep running: each message names the fix. */
export type PeerRuntimeErrorCode =
  | 'P2PSP_ERR_SOURCE_UNREACHABLE'
  | 'P2PSP_ERR_JOIN_FAILED'
  | 'P2PSP_ERR_PORT_IN_USE'
  | 'P2PSP_ERR_BAD_OPTION';

/** A problem of the operator's setup (not of the protocol). */
export class PeerRuntimeError extends Error {
  override readonly name = 'PeerRuntimeError';
  readonly code: PeerRuntimeErrorCode;

  constructor(code: PeerRuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
