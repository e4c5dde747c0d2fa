import {
  errorCodes,
  P2pspError,
  type P2pspErrorTable,
  SHARED_ERRORS,
  type SharedErrorCode,
} from '@p2psp/wire';

/** Why the bridge could not take the stream from the peer or push it to Icecast. */
export type BridgeErrorCode =
  | 'P2PSP_ERR_BRIDGE_INPUT_UNREACHABLE'
  | 'P2PSP_ERR_BRIDGE_INPUT_STATUS'
  | 'P2PSP_ERR_BRIDGE_INPUT_NOT_MEDIA'
  | 'P2PSP_ERR_ICECAST_UNREACHABLE'
  | 'P2PSP_ERR_ICECAST_AUTH'
  | 'P2PSP_ERR_ICECAST_MOUNT_IN_USE'
  | 'P2PSP_ERR_ICECAST_REFUSED';

const BRIDGE_OWN_ERRORS = {
  P2PSP_ERR_BRIDGE_INPUT_UNREACHABLE: {
    kind: 'environment',
    message:
      'the --from player URL cannot be reached; check that the peer runs and its player port',
  },
  P2PSP_ERR_BRIDGE_INPUT_STATUS: {
    kind: 'remote',
    message: 'the --from player URL answered with an error status; point it at the stream path',
  },
  P2PSP_ERR_BRIDGE_INPUT_NOT_MEDIA: {
    kind: 'usage',
    message: 'the --from URL serves no audio or video stream; give a peer player URL',
  },
  P2PSP_ERR_ICECAST_UNREACHABLE: {
    kind: 'environment',
    message: 'the Icecast server cannot be reached; check the host, the port and that it runs',
  },
  P2PSP_ERR_ICECAST_AUTH: {
    kind: 'usage',
    message: 'Icecast refused the source password (401); check the password in --to',
  },
  P2PSP_ERR_ICECAST_MOUNT_IN_USE: {
    kind: 'remote',
    message: 'the Icecast mount has a source client already (403 Mountpoint in use)',
  },
  P2PSP_ERR_ICECAST_REFUSED: {
    kind: 'remote',
    message: 'Icecast refused the source connection; the message gives its answer',
  },
} as const satisfies P2pspErrorTable<BridgeErrorCode>;

const BRIDGE_ERRORS: P2pspErrorTable<BridgeErrorCode | SharedErrorCode> = {
  ...SHARED_ERRORS,
  ...BRIDGE_OWN_ERRORS,
};

/** The codes @p2psp/icecast-bridge owns (unique across p2psp). */
export const BRIDGE_ERROR_CODES = errorCodes(BRIDGE_OWN_ERRORS);

/** A bridge that cannot run: the message names the problem and the fix. */
export class BridgeError extends P2pspError<BridgeErrorCode | 'P2PSP_ERR_BAD_OPTION'> {
  override readonly name = 'BridgeError';

  constructor(
    code: BridgeErrorCode | 'P2PSP_ERR_BAD_OPTION',
    message?: string,
    options: { cause?: unknown; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(code, BRIDGE_ERRORS[code], message, options);
  }
}

export function systemCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return error instanceof Error ? error.message : String(error);
}
