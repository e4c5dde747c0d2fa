import type { Logger } from './logging.js';

export interface StatusSample {
  readonly members: number;
  /** A growing count of chunks (played, or sent by a source). */
  readonly chunks: number;
  /** A growing count of stream bytes (played, or ingested by a source). */
  readonly bytes: number;
  readonly lost: number;
  readonly players?: number;
}

/**
 * On a terminal, logs one `status` line every few seconds: members, chunks/s, bit rate,
 * lost chunks and players, computed from the difference between two samples.
 */
export function startStatusLine(
  logger: Logger,
  sample: () => StatusSample,
  periodMs = 5_000,
): () => void {
  if (process.stderr.isTTY !== true) return () => {};
  let previous = sample();
  let previousAt = performance.now();
  const timer = setInterval(() => {
    const current = sample();
    const now = performance.now();
    const seconds = Math.max(0.001, (now - previousAt) / 1000);
    logger.info(
      {
        members: current.members,
        chunksPerSecond: Math.round(((current.chunks - previous.chunks) / seconds) * 10) / 10,
        kbps: Math.round(((current.bytes - previous.bytes) * 8) / seconds / 1000),
        lost: current.lost,
        ...(current.players !== undefined ? { players: current.players } : {}),
      },
      'status',
    );
    previous = current;
    previousAt = now;
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
