/**
 * The one error base class of p2psp (STYLE.md, the undici row): every error a package
 * throws is a `P2pspError` with a stable `code` (match on it, never on the message), a
 * `name`, a `kind`, a message naming the problem and the fix, and optional structured
 * `details` and `cause`. Network input never throws (brief rule 3): decoders and cores
 * return typed results or drop and count, so `kind: 'remote'` is mostly seen on the reasons
 * a runtime gives up (a join refused, a source gone silent).
 */

/** Every code starts with `P2PSP_ERR_` and is written in upper snake case. */
export type P2pspErrorCode = `P2PSP_ERR_${string}`;

/**
 * Who has to act:
 * - `usage`: the caller misused the API or gave a bad option; fix the call or the flag.
 * - `remote`: the other end broke the protocol or refused us (a join refused, no chunks).
 * - `environment`: the machine or the network (a port in use, an address unreachable, a
 *   file missing); fix the setup, then retry.
 */
export type P2pspErrorKind = 'usage' | 'remote' | 'environment';

/** What a code means: its kind, and the message used when the thrower gives none. */
export interface P2pspErrorInfo {
  readonly kind: P2pspErrorKind;
  readonly message: string;
}

/** A package's codes, each with its kind and default message: the source of its code list. */
export type P2pspErrorTable<Code extends P2pspErrorCode> = { readonly [C in Code]: P2pspErrorInfo };

export interface P2pspErrorOptions {
  /** Structured facts for logs and programs (the option at fault, the port...). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** The lower-level error this one explains (an `EADDRINUSE`, a failed fetch). */
  readonly cause?: unknown;
}

/**
 * Codes several packages throw with the same meaning, declared once here so each code has
 * one owner (the source and peer runtimes both report a port in use, for instance).
 */
export type SharedErrorCode = 'P2PSP_ERR_CONFIG' | 'P2PSP_ERR_BAD_OPTION' | 'P2PSP_ERR_PORT_IN_USE';

export const SHARED_ERRORS: P2pspErrorTable<SharedErrorCode> = {
  P2PSP_ERR_CONFIG: {
    kind: 'usage',
    message: 'a protocol core was given an invalid option; the message names it',
  },
  P2PSP_ERR_BAD_OPTION: {
    kind: 'usage',
    message: 'an option of a node is invalid; the message names it and the accepted values',
  },
  P2PSP_ERR_PORT_IN_USE: {
    kind: 'environment',
    message: 'the port is already in use; choose another one or stop the process holding it',
  },
};

/** The codes of `SHARED_ERRORS`, for exhaustive tests. */
export const SHARED_ERROR_CODES = errorCodes(SHARED_ERRORS);

export class P2pspError<Code extends P2pspErrorCode = P2pspErrorCode> extends Error {
  // A field, not a prototype property, so each subclass's own `name` field overrides it.
  override readonly name: string = 'P2pspError';
  readonly code: Code;
  readonly kind: P2pspErrorKind;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  /**
   * `info` is usually the code's entry in its package's table; `message` defaults to the
   * table's, so a thrower only writes one when it can say more (the value, the fix).
   */
  constructor(
    code: Code,
    info: P2pspErrorInfo,
    message: string = info.message,
    options: P2pspErrorOptions = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.kind = info.kind;
    this.details = options.details;
  }
}

/** The codes of a table, in declaration order: a package's `*_ERROR_CODES` list. */
export function errorCodes<Code extends P2pspErrorCode>(
  table: P2pspErrorTable<Code>,
): readonly Code[] {
  return Object.freeze(Object.keys(table) as Code[]);
}
