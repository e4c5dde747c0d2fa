import { errorCodes, P2pspError, type P2pspErrorTable } from '@p2psp/wire';

/**
 * Errors for misuse of this package (bad options, calls out of order, a port in use). What
 * the network does wrong is never thrown: it comes back as a typed result (`ok: false`
 * with a `P2PSP_ERR_STUN_*`, `P2PSP_ERR_NAT_*` or `P2PSP_ERR_PUNCH_*` code).
 */
export type NatErrorCode =
  /** An option is out of range or inconsistent; the message names it and the fix. */
  | 'P2PSP_ERR_NAT_OPTION'
  /** A call out of order (start twice, request after close, an unbound socket). */
  | 'P2PSP_ERR_NAT_USAGE'
  /** A value given to the STUN encoder does not fit the format. */
  | 'P2PSP_ERR_STUN_ENCODE'
  /** A server socket could not be bound (port in use, address not on this host). */
  | 'P2PSP_ERR_NAT_LISTEN'
  /** A STUN server name did not resolve. */
  | 'P2PSP_ERR_NAT_RESOLVE';

export const NAT_ERRORS: P2pspErrorTable<NatErrorCode> = {
  P2PSP_ERR_NAT_OPTION: { kind: 'usage', message: 'a NAT option is out of range or inconsistent' },
  P2PSP_ERR_NAT_USAGE: { kind: 'usage', message: 'a call out of order (started twice, or closed)' },
  P2PSP_ERR_STUN_ENCODE: { kind: 'usage', message: 'a value does not fit the STUN format' },
  P2PSP_ERR_NAT_LISTEN: {
    kind: 'environment',
    message: 'the server socket could not be bound: port in use, or address not on this host',
  },
  P2PSP_ERR_NAT_RESOLVE: { kind: 'environment', message: 'the STUN server name did not resolve' },
};

export const NAT_ERROR_CODES = errorCodes(NAT_ERRORS);

export class NatError extends P2pspError<NatErrorCode> {
  override readonly name = 'NatError';

  constructor(code: NatErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, NAT_ERRORS[code], message, options);
  }
}
