import { errorCodes, P2pspError, type P2pspErrorTable, SHARED_ERRORS } from '@p2psp/wire';

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
  | 'P2PSP_ERR_SOURCE_SILENT'
  | 'P2PSP_ERR_REMOVED';

/** Why the peer runtime (`@p2psp/peer/node`) could not start or keep running. */
export type PeerRuntimeErrorCode =
  | 'P2PSP_ERR_SOURCE_UNREACHABLE'
  | 'P2PSP_ERR_JOIN_FAILED'
  | 'P2PSP_ERR_PORT_IN_USE'
  | 'P2PSP_ERR_BAD_OPTION';

/** The codes this package owns; the shared ones it also throws are in `SHARED_ERRORS`. */
const PEER_OWN_ERRORS = {
  P2PSP_ERR_JOIN_TIMEOUT: {
    kind: 'environment',
    message: 'no join accept from the source in time; check the address and that it runs',
  },
  P2PSP_ERR_JOIN_REFUSED: { kind: 'remote', message: 'the source refused the join' },
  P2PSP_ERR_JOIN_FAILED: {
    kind: 'remote',
    message: 'the join failed; check --source, and that a p2psp source of this version runs there',
  },
  P2PSP_ERR_HELLO_TIMEOUT: {
    kind: 'environment',
    message: 'the source never answered our UDP hello: UDP to it is blocked or lost',
  },
  P2PSP_ERR_SOURCE_SILENT: {
    kind: 'remote',
    message: 'nothing from the source for too long: it stopped without a goodbye',
  },
  P2PSP_ERR_REMOVED: {
    kind: 'remote',
    message: 'the source removed this peer (silent past its member timeout, or expelled)',
  },
  P2PSP_ERR_SOURCE_UNREACHABLE: {
    kind: 'environment',
    message: 'the source cannot be reached; check --source and the network',
  },
} as const satisfies P2pspErrorTable<
  Exclude<PeerErrorCode | PeerRuntimeErrorCode, keyof typeof SHARED_ERRORS>
>;

/** Every code and its kind and default message, the shared ones included. */
export const PEER_ERRORS: P2pspErrorTable<PeerErrorCode | PeerRuntimeErrorCode> = {
  ...SHARED_ERRORS,
  ...PEER_OWN_ERRORS,
};

/** The codes @p2psp/peer owns (unique across p2psp; shared ones: `SHARED_ERROR_CODES`). */
export const PEER_ERROR_CODES = errorCodes(PEER_OWN_ERRORS);

export class PeerConfigError extends P2pspError<PeerErrorCode> {
  override readonly name = 'PeerConfigError';
  /** The option at fault, e.g. `playoutDelayChunks`. */
  readonly option: string;

  constructor(option: string, message?: string) {
    super('P2PSP_ERR_CONFIG', PEER_ERRORS.P2PSP_ERR_CONFIG, message, { details: { option } });
    this.option = option;
  }
}
