import { errorCodes, P2pspError, type P2pspErrorTable } from '@p2psp/wire';

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

export const MEDIA_ERRORS: P2pspErrorTable<MediaErrorCode> = {
  P2PSP_ERR_MEDIA_BITRATE_REQUIRED: {
    kind: 'usage',
    message: 'this container carries no usable timing: give the stream bit rate',
  },
  P2PSP_ERR_MEDIA_INVALID_OPTION: { kind: 'usage', message: 'a media option is out of range' },
  // The stream's producer (an encoder, an Icecast server) sent bytes that break the format.
  P2PSP_ERR_MEDIA_MALFORMED: {
    kind: 'remote',
    message: 'the bytes are not the announced container',
  },
  P2PSP_ERR_MEDIA_HEADER_TOO_LARGE: {
    kind: 'remote',
    message: 'the stream header is larger than maxHeaderBytes',
  },
};

export const MEDIA_ERROR_CODES = errorCodes(MEDIA_ERRORS);

/**
 * The one error class of this package. `code` is stable (match on it, not on the message);
 * `message` says what is wrong and how to fix it.
 */
export class MediaError extends P2pspError<MediaErrorCode> {
  override readonly name = 'MediaError';

  constructor(code: MediaErrorCode, message?: string) {
    super(code, MEDIA_ERRORS[code], message);
  }
}
