import { errorCodes, P2pspError, type P2pspErrorTable, SHARED_ERRORS } from '@p2psp/wire';

/**
 * Errors the source core throws when it is misused (a bad option). Network input never
 * throws: it is dropped and counted (see `SourceStats.datagramsDropped`).
 */
export type SourceErrorCode = 'P2PSP_ERR_CHUNK_SIZE' | 'P2PSP_ERR_CONFIG';

/** Why the source runtime (`@p2psp/source/node`) could not start or keep its ingest. */
export type SourceRuntimeErrorCode =
  | 'P2PSP_ERR_INGEST_UNREACHABLE'
  | 'P2PSP_ERR_INGEST_REFUSED'
  | 'P2PSP_ERR_INGEST_STALLED'
  | 'P2PSP_ERR_INGEST_CLOSED'
  | 'P2PSP_ERR_INGEST_HTTP_STATUS'
  | 'P2PSP_ERR_INGEST_NOT_MEDIA'
  | 'P2PSP_ERR_INGEST_FILE'
  | 'P2PSP_ERR_INGEST_EMPTY'
  | 'P2PSP_ERR_BITRATE_NEEDED'
  | 'P2PSP_ERR_PORT_IN_USE'
  | 'P2PSP_ERR_BAD_OPTION';

/** The codes this package owns; the shared ones it also throws are in `SHARED_ERRORS`. */
const SOURCE_OWN_ERRORS = {
  P2PSP_ERR_CHUNK_SIZE: {
    kind: 'usage',
    message: 'chunkSize does not fit a datagram; lower it (see MAX_CHUNK_PAYLOAD_FOR_MTU)',
  },
  P2PSP_ERR_INGEST_UNREACHABLE: {
    kind: 'environment',
    message: 'the --input URL cannot be reached; check the host, the port and the network',
  },
  P2PSP_ERR_INGEST_REFUSED: {
    kind: 'environment',
    message: 'the --input server refused the connection; check the port and that it runs',
  },
  P2PSP_ERR_INGEST_STALLED: {
    kind: 'remote',
    message: 'the --input sends no bytes; check that its encoder or source client still runs',
  },
  P2PSP_ERR_INGEST_CLOSED: {
    kind: 'remote',
    message: 'the --input server closed the stream; check that its source client still runs',
  },
  P2PSP_ERR_INGEST_HTTP_STATUS: {
    kind: 'remote',
    message: 'the --input server answered with an error status; check the mount path',
  },
  P2PSP_ERR_INGEST_NOT_MEDIA: {
    kind: 'usage',
    message: '--input is not a media stream this source recognises; pass --media-type',
  },
  P2PSP_ERR_INGEST_FILE: {
    kind: 'environment',
    message: 'the --input file cannot be read; give an existing media file',
  },
  P2PSP_ERR_INGEST_EMPTY: {
    kind: 'environment',
    message: '--input gave no stream bytes; check that it carries a live stream',
  },
  P2PSP_ERR_BITRATE_NEEDED: {
    kind: 'usage',
    message: 'this input has no usable timing; pass --bitrate',
  },
} as const satisfies P2pspErrorTable<
  Exclude<SourceErrorCode | SourceRuntimeErrorCode, keyof typeof SHARED_ERRORS>
>;

/** Every code and its kind and default message, the shared ones included. */
export const SOURCE_ERRORS: P2pspErrorTable<SourceErrorCode | SourceRuntimeErrorCode> = {
  ...SHARED_ERRORS,
  ...SOURCE_OWN_ERRORS,
};

/** The codes @p2psp/source owns (unique across p2psp; shared ones: `SHARED_ERROR_CODES`). */
export const SOURCE_ERROR_CODES = errorCodes(SOURCE_OWN_ERRORS);

export class SourceConfigError extends P2pspError<SourceErrorCode> {
  override readonly name = 'SourceConfigError';
  /** The option at fault, e.g. `chunkSize`. */
  readonly option: string;

  constructor(code: SourceErrorCode, option: string, message?: string) {
    super(code, SOURCE_ERRORS[code], message, { details: { option } });
    this.option = option;
  }
}
