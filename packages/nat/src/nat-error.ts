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

export const NAT_ERROR_CODES: readonly NatErrorCode[] = [
  'P2PSP_ERR_NAT_OPTION',
  'P2PSP_ERR_NAT_USAGE',
  'P2PSP_ERR_STUN_ENCODE',
  'P2PSP_ERR_NAT_LISTEN',
  'P2PSP_ERR_NAT_RESOLVE',
];

export class NatError extends Error {
  override readonly name = 'NatError';
  readonly code: NatErrorCode;

  constructor(code: NatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
