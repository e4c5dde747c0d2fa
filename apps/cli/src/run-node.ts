import { exitAfterStop, onShutdownSignal } from './cli-errors.js';
import type { Logger } from './logging.js';
import { type StatusSample, startStatusLine } from './status-line.js';

/** What `p2psp source` and `p2psp peer` run: a started node of `@p2psp/source` or `@p2psp/peer`. */
export interface RunningNode {
  /** Resolves with why the node stopped (`stop`, `stream-end`, or a failure's reason). */
  readonly done: Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs a started node until it stops: a status line on a terminal, a polite stop on
 * SIGINT/SIGTERM (goodbyes, rule 6), then the exit status that names why it stopped.
 * `close` ends what the command serves beside the node (a status port).
 */
export async function runUntilStopped(
  role: 'source' | 'peer',
  node: RunningNode,
  logger: Logger,
  sample: () => StatusSample,
  close: () => Promise<void> = async () => {},
): Promise<never> {
  const stopStatus = startStatusLine(logger, sample);
  onShutdownSignal(async () => {
    stopStatus();
    await node.stop();
    await close();
  });
  const reason = await node.done;
  stopStatus();
  await close();
  exitAfterStop(role, reason, logger);
}
