import { type Command, Option } from 'commander';
import { failAndExit } from '../cli-errors.js';
import { checkCtlOptions } from '../ctl-server.js';
import { addNodeFlags, badOption } from '../node-flags.js';
import { START_ROLES, type StartRole } from '../node-runtime.js';
import { addPeerFlags } from '../peer-flags.js';
import { type AllFlags, runNode } from '../run-node.js';
import { addSourceFlags } from '../source-flags.js';

type NodeCommandFlags = AllFlags & { role: StartRole };

/** Flags that make no sense together with the role: named with the fix, before anything starts. */
function checkRole(flags: NodeCommandFlags): void {
  const { role } = flags;
  if (role === 'source') {
    if (flags.source !== undefined) {
      throw badOption(
        '--source is the cluster a peer joins: a source node takes its stream from --input or --listen-source; drop --source, or pick --role peer',
      );
    }
  } else {
    if (flags.source === undefined) {
      throw badOption(`--role ${role} needs --source HOST:PORT: the cluster to join`);
    }
    if (flags.input !== undefined || flags.listenSource !== undefined) {
      throw badOption(
        `--input and --listen-source are a source's: a ${role} takes the stream from --source (to feed a private cluster from it, ask for liberated+source with p2psp ctl)`,
      );
    }
  }
  for (const flag of ['monitor', 'liberated'] as const) {
    if (flags[flag] && role !== flag) {
      throw badOption(`--${flag} with --role ${role}: give --role ${flag} instead`);
    }
  }
  checkCtlOptions(flags);
}

/** `p2psp node`: one program for every role, changing role at run time (`p2psp ctl`). */
export function registerNodeCommand(program: Command): void {
  const command = program
    .command('node')
    .description(
      'one program for every role: a source, a peer, a monitor or a liberated peer; with --status-port, a control API changes its role while it runs (p2psp ctl)',
    )
    .addOption(
      new Option('--role <role>', 'the role it starts in').choices(START_ROLES).default('peer'),
    );
  addSourceFlags(addPeerFlags(addNodeFlags(command, 'node'), false))
    .option(
      '--ctl-token <secret>',
      'the control API (on --status-port) answers only calls with this bearer token (16 characters or more); default: one made at start, written to --ctl-token-file or printed',
    )
    .option(
      '--ctl-token-file <path>',
      'write the token made at start to this file (mode 0600) instead of printing it',
    )
    .addHelpText(
      'after',
      `
Roles: source (--input or --listen-source), peer, monitor, liberated (--source HOST:PORT).
At run time a peer turns liberated, or liberated+source: a liberated peer of its cluster and,
in the same process, the source of a private cluster fed by the stream it plays.

Examples:
  p2psp node --role source --input music.mp3 --loop
  p2psp node --role peer --source 192.0.2.7:4552 --status-port 9100 --ctl-token-file ctl.token
    then: p2psp ctl 127.0.0.1:9100 --token-file ctl.token role liberated+source --port 4553
    its LAN joins: p2psp peer --source THIS-HOST:4553
    and back:      p2psp ctl 127.0.0.1:9100 --token-file ctl.token role peer`,
    )
    .action((flags: NodeCommandFlags) => {
      try {
        checkRole(flags);
      } catch (error) {
        failAndExit(error);
      }
      return runNode(
        flags.role,
        { ...flags, monitor: flags.role === 'monitor', liberated: flags.role === 'liberated' },
        true,
      );
    });
}
