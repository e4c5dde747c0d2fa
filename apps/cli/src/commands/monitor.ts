import { DEFAULT_SOURCE_STATUS_PORT, startMonitor } from '@p2psp/monitor';
import type { Command } from 'commander';
import {
  failAndExit,
  integerIn,
  ipAddress,
  LOG_LEVEL_HELP,
  logLevel,
  onShutdownSignal,
} from '../cli-errors.js';
import { createLogger } from '../logging.js';

interface MonitorFlags {
  source: string;
  status?: string;
  port: number;
  address: string;
  credential?: string;
  logLevel: string;
}

/** `p2psp monitor`: a trusted monitor peer (rule 8) with a live dashboard of the cluster. */
export function registerMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description('join a cluster as its monitor and serve a live dashboard of it over HTTP')
    .requiredOption('-s, --source <host:port>', 'the source to join, e.g. 192.0.2.7:4552')
    .option(
      '--status <url>',
      `the source's status port (p2psp source --status-port), default http://SOURCE_HOST:${DEFAULT_SOURCE_STATUS_PORT}`,
    )
    .option(
      '-p, --port <port>',
      'HTTP port of the dashboard (0 picks one)',
      integerIn(0, 65_535),
      8090,
    )
    .option('--address <ip>', 'address of the dashboard', ipAddress, '127.0.0.1')
    .option('--credential <secret>', 'the monitor credential the source was started with')
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'warn')
    .action(async (flags: MonitorFlags) => {
      const logger = createLogger({ level: flags.logLevel });
      let monitor: Awaited<ReturnType<typeof startMonitor>>;
      try {
        monitor = await startMonitor({
          source: flags.source,
          port: flags.port,
          address: flags.address,
          ...(flags.status !== undefined ? { statusUrl: flags.status } : {}),
          ...(flags.credential !== undefined
            ? { credential: new TextEncoder().encode(flags.credential) }
            : {}),
          logger,
        });
      } catch (error) {
        failAndExit(error, logger);
      }
      process.stdout.write(`dashboard: ${monitor.url}\n`);
      onShutdownSignal(() => monitor.stop());
      await monitor.done;
    });
}
