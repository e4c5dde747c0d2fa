import { InvalidArgumentError } from 'commander';
import type { Logger } from './logging.js';

/** Parses an integer flag value in [min, max]; commander prints the message and exits 1. */
export function integerIn(min: number, max: number) {
  return (text: string): number => {
    const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

/** Parses a bit rate like 128000, 128k or 1.5M (bits per second). */
export function bitrate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  const scale = match?.[2] ? (match[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1;
  const value = match ? Number(match[1]) * scale : Number.NaN;
  if (!Number.isFinite(value) || value < 1_000 || value > 100e6) {
    throw new InvalidArgumentError('expected bits per second from 1000 to 100M, e.g. 128k.');
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
