import { DEFAULT_SOURCE_PORT } from '@p2psp/source/node';
import type { Command } from 'commander';
import { BAD_OPTION, integerIn, ipAddress, LOG_LEVEL_HELP, logLevel } from './cli-errors.js';

/** The command a flag is added to: a role's shorthand, or `p2psp node` (every role). */
export type FlagsCommand = 'source' | 'peer' | 'node';

/** The flags every role takes, each role for its own socket. */
export interface NodeFlags {
  port?: number;
  address?: string;
  logLevel: string;
}

/** A bad flag value or combination found past parsing: printed with its code, exit 1. */
export function badOption(message: string): Error {
  return Object.assign(new Error(message), { code: BAD_OPTION });
}

const PORT_HELP: Record<FlagsCommand, string> = {
  source: 'port for TCP joins and UDP chunks (0 picks one)',
  peer: 'UDP port of this peer (0 picks one)',
  node: `as a source, the port for TCP joins and UDP chunks (default ${DEFAULT_SOURCE_PORT}); otherwise the UDP port (default 0: picks one)`,
};

const ADDRESS_HELP: Record<FlagsCommand, string> = {
  source: 'address to listen on (TCP joins and UDP)',
  peer: 'UDP address to bind (default: all, of the source family)',
  node: 'as a source, the address to listen on (default 0.0.0.0); otherwise the UDP address to bind (default: all, of the source family)',
};

/**
 * `-p, --port`, `-a, --address` and `--log-level`, defined once for every command: the
 * port and address are the role's own socket, so `p2psp node` leaves their defaults to
 * the role it runs (`roleEndpoint`).
 */
export function addNodeFlags(command: Command, of: FlagsCommand): Command {
  return command
    .option(
      '-p, --port <port>',
      PORT_HELP[of],
      integerIn(0, 65_535),
      of === 'node' ? undefined : of === 'source' ? DEFAULT_SOURCE_PORT : 0,
    )
    .option(
      '-a, --address <ip>',
      ADDRESS_HELP[of],
      ipAddress,
      of === 'source' ? '0.0.0.0' : undefined,
    )
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'info');
}

/** The port and address of the role's socket, with the role's defaults. */
export function roleEndpoint(
  flags: NodeFlags,
  role: 'source' | 'peer',
): { readonly port: number; readonly address: string | undefined } {
  if (role === 'source') {
    return { port: flags.port ?? DEFAULT_SOURCE_PORT, address: flags.address ?? '0.0.0.0' };
  }
  return { port: flags.port ?? 0, address: flags.address };
}
