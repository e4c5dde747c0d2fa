import { readFileSync } from 'node:fs';
import { parseEndpoint } from '@p2psp/host';
import { formatEndpoint } from '@p2psp/wire';
import { Argument, type Command } from 'commander';
import { failAndExit, integerIn, ipAddress } from '../cli-errors.js';
import { badOption } from '../node-flags.js';
import { NODE_ROLES, type NodeRole, type RoleRequest } from '../node-runtime.js';

interface CtlFlags {
  token?: string;
  tokenFile?: string;
  port?: number;
  address?: string;
}

/** The node answered no JSON, or could not be reached. */
const CTL_UNREACHABLE = 'P2PSP_ERR_CTL_UNREACHABLE';

function token(flags: CtlFlags): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined) {
    throw badOption('--token and --token-file both given: use one of them');
  }
  if (flags.tokenFile === undefined) return flags.token ?? process.env.P2PSP_CTL_TOKEN;
  try {
    return readFileSync(flags.tokenFile, 'utf8').split(/\r?\n/)[0];
  } catch (error) {
    throw badOption(
      `--token-file ${flags.tokenFile}: cannot read it (${(error as Error).message}); give the file the node wrote (p2psp node --ctl-token-file)`,
    );
  }
}

/** Calls the node's control API; prints its JSON answer, or its error with the code (exit 1). */
async function call(
  node: string,
  flags: CtlFlags,
  path: string,
  body?: RoleRequest,
): Promise<void> {
  const { host, port } = parseEndpoint(node, 'HOST:PORT');
  const bearer = token(flags);
  const url = `http://${formatEndpoint({ address: host, port })}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw Object.assign(
      new Error(
        `${url}: no answer (${(error as Error).cause ?? (error as Error).message}); check HOST:PORT, the node's --status-port`,
      ),
      { code: CTL_UNREACHABLE },
    );
  }
  const answer = (await response.json().catch(() => null)) as {
    error?: { code: string; message: string };
  } | null;
  if (answer === null) {
    throw Object.assign(
      new Error(`${url}: HTTP ${response.status} and no JSON: is this a p2psp node's status port?`),
      { code: CTL_UNREACHABLE },
    );
  }
  if (answer.error !== undefined) {
    throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  }
  process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
}

/** `p2psp ctl`: a node's control API from the command line. */
export function registerCtlCommand(program: Command): void {
  program
    .command('ctl')
    .description(
      "call a node's control API (p2psp node --status-port): its status, or a change of its role",
    )
    .argument('<host:port>', "the node's status port, e.g. 127.0.0.1:9100")
    .addArgument(
      new Argument('<action>', "status: print the node's role and status; role: change it").choices(
        ['status', 'role'],
      ),
    )
    .addArgument(new Argument('[role]', 'with role: the role to take').choices(NODE_ROLES))
    .option('--token <secret>', 'the bearer token the node printed (default: $P2PSP_CTL_TOKEN)')
    .option('--token-file <path>', 'read the token from this file (p2psp node --ctl-token-file)')
    .option(
      '-p, --port <port>',
      "with role liberated+source: the private cluster's port (default 4552; 0 picks one)",
      integerIn(0, 65_535),
    )
    .option(
      '-a, --address <ip>',
      "with role liberated+source: the private cluster's address (default 0.0.0.0)",
      ipAddress,
    )
    .addHelpText(
      'after',
      `
Roles a peer can take at run time: peer, liberated, liberated+source. Errors end with their
code: P2PSP_ERR_CTL_UNAUTHORIZED (no or wrong token), P2PSP_ERR_CTL_BAD_REQUEST,
P2PSP_ERR_ROLE_CHANGE (the change makes no sense; nothing changed).

Examples:
  p2psp ctl 127.0.0.1:9100 --token-file ctl.token status
  p2psp ctl 127.0.0.1:9100 --token-file ctl.token role liberated+source --port 4553
  p2psp ctl 127.0.0.1:9100 --token-file ctl.token role peer`,
    )
    .action(
      async (
        node: string,
        action: 'status' | 'role',
        role: NodeRole | undefined,
        flags: CtlFlags,
      ) => {
        try {
          if (action === 'status') {
            if (role !== undefined) throw badOption(`status takes no role (got ${role})`);
            await call(node, flags, '/ctl');
            return;
          }
          if (role === undefined) {
            throw badOption(`role needs the role to take: one of ${NODE_ROLES.join(', ')}`);
          }
          await call(node, flags, '/ctl/role', {
            role,
            ...(flags.port !== undefined ? { port: flags.port } : {}),
            ...(flags.address !== undefined ? { address: flags.address } : {}),
          });
        } catch (error) {
          failAndExit(error);
        }
      },
    );
}
