/** Stable error codes of @p2psp/media (see the README's error table). */
export type MediaErrorCode =
  /** A pacer needs a constant bit rate for a container without usable timing. */
  | 'P2PSP_ERR_MEDIA_BITRATE_REQUIRED'
  /** An option is out of range (the message names it and the accepted range). */
  | 'P2PSP_ERR_MEDIA_INVALID_OPTION'
  /** The bytes are not the announced container (e.g. an Ogg stream without BOS pages). */
  | 'P2PSP_ERR_MEDIA_MALFORMED'
  /** The stream header grew past the capture limit (`maxHeaderBytes`). */
  | 'P2PSP_ERR_MEDIA_HEADER_TOO_LARGE';

/**
 * The one error class of this package. `code` is stable (match on it, not on the message);
 * `message` says what is wrong and how to fix it.
 */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
