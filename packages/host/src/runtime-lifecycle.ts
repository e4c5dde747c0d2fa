import { P2pspError, type SharedErrorCode } from '@p2psp/wire';
import type { HostLogger } from './node-host.js';
import { errorCode } from './sockets.js';

/** The codes a runtime reports a failed bind or listen with (both owned by @p2psp/wire). */
export type ListenErrorCode = Extract<
  SharedErrorCode,
  'P2PSP_ERR_PORT_IN_USE' | 'P2PSP_ERR_BAD_OPTION'
>;

/** A runtime's error class: `PeerRuntimeError`, `SourceRuntimeError`. */
export type ListenErrorClass = new (
  code: ListenErrorCode,
  message: string,
  options: { cause: unknown },
) => Error;

/** What to tell the operator; `cannotListen` gets the system code. */
export interface ListenErrorWords {
  readonly inUse: string;
  readonly cannotListen: (systemCode: string) => string;
}

/**
 * What a failed bind or listen means to an operator, as the runtime's own error:
 * `EADDRINUSE` is a port in use; any other system error (`EADDRNOTAVAIL`: not an address of
 * this machine, `EACCES`: a port below 1024 without the privilege, `ENOTFOUND`: a host name
 * that does not resolve) is a bad option. Any other error is returned as it is: it is not
 * the operator's setup (a `P2pspError` a core or a NAT detection threw first).
 */
export function explainListenError(
  error: unknown,
  errorClass: ListenErrorClass,
  words: ListenErrorWords,
): unknown {
  if (error instanceof P2pspError) return error;
  const code = errorCode(error);
  if (code === 'EADDRINUSE') {
    return new errorClass('P2PSP_ERR_PORT_IN_USE', words.inUse, { cause: error });
  }
  if (/^E[A-Z]+$/.test(code)) {
    return new errorClass('P2PSP_ERR_BAD_OPTION', words.cannotListen(code), { cause: error });
  }
  return error;
}

/**
 * The end of a runtime (a source, a peer): closes what it opened, in order, once, logs
 * `sockets-close` and resolves `done` with the first reason given. The core may say
 * `stopped` while its host is still starting (a join refused in the first drain): that
 * reason waits until `started` lists what to close.
 */
export class RuntimeShutdown {
  readonly done: Promise<string>;
  readonly #logger: HostLogger | undefined;
  #resolveDone!: (reason: string) => void;
  #closers: readonly (() => unknown)[] | null = null;
  #earlyReason: string | null = null;
  #shuttingDown: Promise<void> | null = null;

  constructor(logger?: HostLogger) {
    this.#logger = logger;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Everything is open: a shutdown closes these, one after the other, in this order. */
  started(...closers: (() => unknown)[]): void {
    this.#closers = closers;
    if (this.#earlyReason !== null) void this.shutdown(this.#earlyReason);
  }

  /** The core said `stopped` (stream end, expelled, join refused): shut down. */
  coreStopped(reason: string): void {
    if (this.#closers === null) this.#earlyReason ??= reason;
    else void this.shutdown(reason);
  }

  /** Closes everything once; later calls wait for the same shutdown. */
  shutdown(reason: string): Promise<void> {
    this.#shuttingDown ??= (async () => {
      for (const close of this.#closers ?? []) await close();
      this.#logger?.info({ reason }, 'sockets-close');
      this.#resolveDone(reason);
    })();
    return this.#shuttingDown;
  }
}
