import { isIP } from 'node:net';
import type { Endpoint } from '@p2psp/wire';
import { InvalidArgumentError } from 'commander';
import type { Logger } from './logging.js';

/** What a flag that fails to parse is reported with, unless its parser names another code. */
export const BAD_OPTION = 'P2PSP_ERR_BAD_OPTION';

/**
 * A flag's value is wrong: commander prints `error: option '...' argument '...' is invalid.`
 * and this message, which ends with the stable code like every other CLI error.
 */
function invalid(message: string, code = BAD_OPTION): InvalidArgumentError {
  return new InvalidArgumentError(`${message} [${code}]`);
}

/**
 * Adds the code to commander's own errors (unknown option, missing value, bad value...):
 * every failure the CLI prints ends with a `P2PSP_ERR_*` code.
 */
export function withErrorCode(text: string): string {
  if (/\[P2PSP_ERR_[A-Z0-9_]+\]\s*$/.test(text)) return text;
  return `${text.trimEnd()} [${BAD_OPTION}]\n`;
}

/** Parses an integer flag value in [min, max]; commander prints the message and exits 1. */
export function integerIn(min: number, max: number) {
  return (text: string): number => {
    const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(`expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

/**
 * The payload bytes of a chunk: at least 64 (the source core's minimum), at most 1420 so that
 * a chunk datagram fits one 1,500-byte MTU over IPv4 and IPv6 alike (wire's
 * MAX_CHUNK_PAYLOAD_FOR_MTU_IPV6 is 1,438), with no IP fragmentation.
 */
export function chunkSize(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 64 || value > 1420) {
    throw invalid(
      'expected 64 to 1420 payload bytes, so that a chunk fits one 1,500-byte MTU datagram over IPv4 and IPv6; the default is 1024.',
      'P2PSP_ERR_CHUNK_SIZE',
    );
  }
  return value;
}

/** The levels pino knows, as the `--log-level` help lists them. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const LOG_LEVEL_HELP = 'trace, debug, info, warn, error, fatal or silent';

export function logLevel(text: string): string {
  if (!LOG_LEVELS.includes(text)) throw invalid(`expected one of ${LOG_LEVELS.join(', ')}.`);
  return text;
}

/**
 * An IP address to bind or listen on, checked as text: a name would be looked up in the
 * DNS when the socket binds, and a typo would fail there (or bind somewhere unexpected).
 */
export function ipAddress(text: string): string {
  if (isIP(text) === 0) {
    throw invalid('expected an IP address of this machine, e.g. 127.0.0.1, 0.0.0.0 or ::1.');
  }
  return text;
}

/**
 * Another source's `IP:PORT` (`--child`, `--parent`): an IP literal, not a name, since the
 * source matches it with where datagrams come from (a child's reports).
 */
export function sourceEndpoint(text: string): Endpoint {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || isIP(match[1]!) === 0 || !(port >= 1 && port <= 65_535)) {
    throw invalid('expected IP:PORT of a source, e.g. 192.0.2.7:4552 or [2001:db8::7]:4552.');
  }
  return { address: match[1]!, port };
}

/** A repeatable `--child`: each one parsed, in the order given. */
export function sourceEndpoints(text: string, previous: readonly Endpoint[]): Endpoint[] {
  return [...previous, sourceEndpoint(text)];
}

/** A multiple of the stream a member may upload (`--max-member-upload`): 1 admits one external. */
export function uploadFactor(text: string): number {
  const value = /^\d+(?:\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || value < 1 || value > 1000) {
    throw invalid('expected a multiple of the stream from 1 to 1000, e.g. 2 or 1.5.');
  }
  return value;
}

/** Parses a bit rate like 128000, 128k or 1.5M (bits per second). */
export function bitrate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  const scale = match?.[2] ? (match[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1;
  const value = match ? Number(match[1]) * scale : Number.NaN;
  if (!Number.isFinite(value) || value < 1_000 || value > 100e6) {
    throw invalid('expected bits per second from 1000 to 100M, e.g. 128k.');
  }
  return Math.round(value);
}

/**
 * Prints a startup failure the way every command does: the stable code and the message
 * (which names the problem and the fix), then exits non-zero.
 */
export function failAndExit(error: unknown, logger?: Logger): never {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  logger?.flush?.();
  process.stderr.write(
    typeof code === 'string' && code.startsWith('P2PSP_')
      ? `error: ${message} [${code}]\n`
      : `error: ${message}\n`,
  );
  process.exit(1);
}

/** Stop reasons that are no failure: the operator stopped the node, or its stream ended. */
const CLEAN_STOPS = new Set(['stop', 'stopped', 'stream-end']);

/**
 * Ends the process once a node (a source, a peer) has stopped: 0 when it was stopped or its
 * stream ended; otherwise 1, with the cause on stderr, so that a supervisor that restarts on
 * failure restarts it. A core's failure reason reads `P2PSP_ERR_CODE: message`.
 */
export function exitAfterStop(role: 'source' | 'peer', reason: string, logger: Logger): never {
  logger.info({ reason }, `${role}-exit`);
  if (CLEAN_STOPS.has(reason)) {
    logger.flush?.();
    process.exit(0);
  }
  const coded = /^(P2PSP_ERR_[A-Z0-9_]+): (.*)$/s.exec(reason);
  failAndExit(
    Object.assign(new Error(`the ${role} stopped: ${coded?.[2] ?? reason}`), {
      ...(coded ? { code: coded[1] } : {}),
    }),
    logger,
  );
}

/**
 * Runs `stop` on the first SIGINT/SIGTERM (leave politely: goodbyes, rule 6); a second
 * signal exits at once.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
