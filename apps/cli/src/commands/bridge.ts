import { type IcecastStreamDetails, startIcecastBridge } from '@p2psp/icecast-bridge';
import type { Command } from 'commander';
import { failAndExit, LOG_LEVEL_HELP, logLevel, onShutdownSignal } from '../cli-errors.js';
import { createLogger } from '../logging.js';

interface BridgeFlags {
  from: string;
  to: string;
  name?: string;
  description?: string;
  genre?: string;
  url?: string;
  public?: boolean;
  logLevel: string;
}

/** `p2psp bridge`: push the cluster's stream from a peer to an Icecast mount. */
export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .description("push the cluster's stream, from a peer's player URL, to an Icecast mount")
    .requiredOption(
      '--from <url>',
      "the peer's player URL (p2psp peer prints it: play: http://...)",
    )
    .requiredOption(
      '--to <url>',
      'the Icecast mount, as a source client: icecast://source:PASSWORD@HOST:PORT/MOUNT',
    )
    .option('--name <text>', 'stream name shown by Icecast (ice-name)')
    .option('--description <text>', 'stream description (ice-description)')
    .option('--genre <text>', 'stream genre (ice-genre)')
    .option('--url <url>', "the radio's web site (ice-url)")
    .option('--public', 'ask Icecast to list the mount in directories (ice-public: 1)')
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'info')
    .addHelpText(
      'after',
      `
Uses PUT (Icecast 2.4 and later), or SOURCE for an older Icecast. Reconnects on its own,
with a backoff of 0.5 to 5 s, when Icecast or the peer restarts.

Example:
  p2psp peer --source radio.example.org:4552 --player-port 8080
  p2psp bridge --from http://127.0.0.1:8080/stream --to icecast://source:hackme@127.0.0.1:8000/radio.mp3`,
    )
    .action(async (flags: BridgeFlags) => {
      const logger = createLogger({ level: flags.logLevel });
      const details: IcecastStreamDetails = {
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        ...(flags.description !== undefined ? { description: flags.description } : {}),
        ...(flags.genre !== undefined ? { genre: flags.genre } : {}),
        ...(flags.url !== undefined ? { url: flags.url } : {}),
        public: flags.public === true,
      };
      let bridge: Awaited<ReturnType<typeof startIcecastBridge>>;
      try {
        bridge = await startIcecastBridge({ from: flags.from, to: flags.to, details, logger });
      } catch (error) {
        failAndExit(error, logger);
      }
      onShutdownSignal(() => bridge.stop());
      const reason = await bridge.done;
      logger.info({ reason, bytesPushed: bridge.status().bytesPushed }, 'bridge-exit');
      process.exit(0);
    });
}
