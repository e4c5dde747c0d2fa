/** Why the source runtime could not start or keep its ingest: each names the fix. */
export type SourceRuntimeErrorCode =
  | 'P2PSP_ERR_INGEST_UNREACHABLE'
  | 'P2PSP_ERR_INGEST_HTTP_STATUS'
  | 'P2PSP_ERR_INGEST_NOT_MEDIA'
  | 'P2PSP_ERR_INGEST_FILE'
  | 'P2PSP_ERR_INGEST_EMPTY'
  | 'P2PSP_ERR_BITRATE_NEEDED'
  | 'P2PSP_ERR_PORT_IN_USE'
  | 'P2PSP_ERR_BAD_OPTION';

/** A problem of the operator's setup (not of the protocol): message says what to change. */
export class SourceRuntimeError extends Error {
  override readonly name = 'SourceRuntimeError';
  readonly code: SourceRuntimeErrorCode;

  constructor(code: SourceRuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function systemCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return error instanceof Error ? error.message : String(error);
}
