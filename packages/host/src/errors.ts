import { errorCodes, P2pspError, type P2pspErrorTable } from '@p2psp/wire';

/** The code of `EndpointSyntaxError`: a `HOST:PORT` or a port number a user typed is wrong. */
export type HostErrorCode = 'P2PSP_ERR_BAD_ADDRESS';

export const HOST_ERRORS: P2pspErrorTable<HostErrorCode> = {
  P2PSP_ERR_BAD_ADDRESS: {
    kind: 'usage',
    message: 'not HOST:PORT; write it like 127.0.0.1:4552, example.org:4552 or [::1]:4552',
  },
};

/** The codes @p2psp/host owns. */
export const HOST_ERROR_CODES = errorCodes(HOST_ERRORS);

/** A user-supplied address or port is wrong; the message names the problem and the fix. */
export class EndpointSyntaxError extends P2pspError<HostErrorCode> {
  override readonly name = 'EndpointSyntaxError';

  constructor(message?: string) {
    super('P2PSP_ERR_BAD_ADDRESS', HOST_ERRORS.P2PSP_ERR_BAD_ADDRESS, message);
  }
}
