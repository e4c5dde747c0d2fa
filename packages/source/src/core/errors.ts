/**
 * Errors the source core throws when it is misused (a bad option). Network input never
 * throws: it is dropped and counted (see `SourceStats.datagramsDropped`).
 */
export type SourceErrorCode = 'P2PSP_ERR_CHUNK_SIZE' | 'P2PSP_ERR_CONFIG';

export class SourceConfigError extends Error {
  override readonly name = 'SourceConfigError';
  readonly code: SourceErrorCode;
  /** The option at fault, e.g. `chunkSize`. */
  readonly option: string;

  constructor(code: SourceErrorCode, option: string, message: string) {
    super(message);
    this.code = code;
    this.option = option;
  }
}
