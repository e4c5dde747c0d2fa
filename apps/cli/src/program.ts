import { Command } from 'commander';
import { BAD_OPTION, LOG_LEVELS, withErrorCode } from './cli-errors.js';
import { registerBridgeCommand } from './commands/bridge.js';
import { registerCtlCommand } from './commands/ctl.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerMonitorCommand } from './commands/monitor.js';
import { registerNatCommand } from './commands/nat.js';
import { registerNodeCommand } from './commands/node.js';
import { registerPeerCommand } from './commands/peer.js';
import { registerSimCommand } from './commands/sim.js';
import { registerSourceCommand } from './commands/source.js';

declare const P2PSP_VERSION: string;

/** The package version: injected by the bundle build; a dev marker when run from source. */
export const version: string = typeof P2PSP_VERSION === 'string' ? P2PSP_VERSION : '0.0.0-dev';

/** The `p2psp` command tree. Each role registers its subcommand from src/commands/. */
export function buildProgram(): Command {
  const program = new Command('p2psp')
    .description('Peer-to-peer live streaming (P2PSP): one program for every role')
    .version(version, '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run p2psp --help for the list of commands and options)')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(withErrorCode(text)) })
    .hook('preAction', () => {
      // The environment overrides --log-level (logging.ts): check it like the flag.
      const level = process.env.P2PSP_LOG_LEVEL;
      if (level !== undefined && !LOG_LEVELS.includes(level)) {
        program.error(
          `error: P2PSP_LOG_LEVEL=${level}: expected one of ${LOG_LEVELS.join(', ')}. [${BAD_OPTION}]`,
          { code: BAD_OPTION },
        );
      }
    });
  registerNodeCommand(program);
  registerSourceCommand(program);
  registerPeerCommand(program);
  registerMonitorCommand(program);
  registerDemoCommand(program);
  registerSimCommand(program);
  registerNatCommand(program);
  registerBridgeCommand(program);
  registerCtlCommand(program);
  return program;
}
