import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggingOptions {
  /** Log level (default info; P2PSP_LOG_LEVEL overrides). */
  readonly level?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a terminal. */
  readonly pretty?: boolean;
}

/**
 * Logs go to stderr (stdout stays for what a user pipes, like the demo's URLs): pretty and
 * coloured on a terminal, one JSON object per line otherwise (for journald, jq, Loki).
 */
export function createLogger(options: LoggingOptions = {}): Logger {
  const level = process.env.P2PSP_LOG_LEVEL ?? options.level ?? 'info';
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  if (usePretty) {
    // In-process (sync) pretty printing: no worker thread to outlive a Ctrl-C.
    return pino(
      { level },
      pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }),
    );
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}
