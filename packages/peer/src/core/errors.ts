/**
 * Codes of the peer core. `P2PSP_ERR_CONFIG` is thrown when the core is built with a bad
 * option (API misuse); the others are reasons a running peer stops (the remote or the
 * network failed), carried by the `stopped` output and the `error` event.
 */
export type PeerErrorCode =
  | 'P2PSP_ERR_CONFIG'
  | 'P2PSP_ERR_JOIN_TIMEOUT'
  | 'P2PSP_ERR_JOIN_REFUSED'
  | 'P2PSP_ERR_JOIN_FAILED'
  | 'P2PSP_ERR_HELLO_TIMEOUT'
  | 'P2PSP_ERR_SOURCE_SILENT';

export class PeerConfigError extends Error {
  override readonly name = 'PeerConfigError';
  readonly code: PeerErrorCode = 'P2PSP_ERR_CONFIG';
  /** The option at fault, e.g. `playoutDelayChunks`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}
