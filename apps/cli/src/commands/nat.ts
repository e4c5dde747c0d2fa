import type { NatDiscoveryResult } from '@p2psp/nat';
import {
  detectNat,
  type RunningStunServer,
  resolveEndpoint,
  startStunServer,
} from '@p2psp/nat/node';
import { formatEndpoint } from '@p2psp/wire';
import type { Command } from 'commander';
import { failAndExit, integerIn, ipAddress, onShutdownSignal } from '../cli-errors.js';

interface DetectFlags {
  stun: string;
  json?: boolean;
  timeout: number;
  localAddress?: string;
}

interface ServeFlags {
  address: string;
  alternateAddress?: string;
  port: number;
  alternatePort: number;
}

const VERDICTS: Record<string, string> = {
  open: 'open internet (no NAT, no filtering): anyone can reach you',
  'full-cone': 'full cone NAT: one public endpoint, open to anyone once used',
  'restricted-cone': 'restricted cone NAT: open to addresses you have sent to',
  'port-restricted-cone': 'port-restricted cone NAT: open to the exact endpoints you have sent to',
  'symmetric-preserving': 'symmetric NAT that preserves ports: a new public port per destination',
  'symmetric-sequential':
    'symmetric NAT with sequential ports: a new, predictable public port per destination',
  'symmetric-random':
    'symmetric NAT with random ports: a new, unpredictable public port per destination',
  'udp-blocked': 'UDP is blocked: no answer from the STUN server',
  unknown: 'unknown: the STUN server could not tell',
};

function describe(result: NatDiscoveryResult): string {
  const lines = [`NAT type: ${result.report.type} — ${VERDICTS[result.report.type] ?? ''}`];
  if (result.report.mappedEndpoint)
    lines.push(`public endpoint: ${formatEndpoint(result.report.mappedEndpoint)}`);
  lines.push(`mapping: ${result.mapping}`, `filtering: ${result.filtering}`);
  lines.push(
    `port allocation: ${result.allocation}${result.portStep > 0 ? ` (step ${result.portStep})` : ''}`,
  );
  if (result.mappings.length > 0) {
    lines.push('mappings seen:');
    for (const mapping of result.mappings) {
      lines.push(
        `  socket ${mapping.socket} ${formatEndpoint(mapping.local)} -> ${formatEndpoint(mapping.destination)}: ${formatEndpoint(mapping.mapped)}`,
      );
    }
  }
  if (result.warning) lines.push(`warning: ${result.warning}`);
  lines.push(`(${result.requestsSent} requests, ${Math.round(result.elapsed)} ms)`);
  return `${lines.join('\n')}\n`;
}

/** `p2psp nat detect` and `p2psp nat serve`: NAT behaviour discovery (RFC 5780) and its server. */
export function registerNatCommand(program: Command): void {
  const nat = program.command('nat').description('NAT type detection (RFC 5780) and a STUN server');

  nat
    .command('detect')
    .description('find out what NAT this host is behind, with an RFC 5780 STUN server')
    .requiredOption(
      '--stun <host[:port]>',
      'STUN server (two addresses for a full verdict), port 3478 by default',
    )
    .option('--json', 'print the detailed result as JSON (for scripts)')
    .option(
      '--timeout <ms>',
      'give up after this many milliseconds',
      integerIn(1000, 600_000),
      30_000,
    )
    .option('--local-address <ip>', 'bind the probing sockets to this local address', ipAddress)
    .action(async (flags: DetectFlags) => {
      try {
        const server = await resolveEndpoint(flags.stun, 3478, '--stun');
        const result = await detectNat({
          server,
          timeout: flags.timeout,
          ...(flags.localAddress ? { localAddress: flags.localAddress } : {}),
        });
        process.stdout.write(
          flags.json ? `${JSON.stringify(result, null, 2)}\n` : describe(result),
        );
        // A verdict (even "udp-blocked") is success; running out of time is not.
        process.exit(result.warning?.startsWith('P2PSP_ERR_NAT_DETECT_TIMEOUT') ? 1 : 0);
      } catch (error) {
        failAndExit(error);
      }
    });

  nat
    .command('serve')
    .description('run a STUN server; RFC 5780-capable with --alternate-address')
    .requiredOption('--address <ip>', 'primary address A1 to listen on', ipAddress)
    .option(
      '--alternate-address <ip>',
      'second address A2 of this host (enables RFC 5780: 4 sockets)',
      ipAddress,
    )
    .option('--port <port>', 'primary port P1', integerIn(1, 65535), 3478)
    .option(
      '--alternate-port <port>',
      'alternate port P2 (with --alternate-address)',
      integerIn(1, 65535),
      3479,
    )
    .action(async (flags: ServeFlags) => {
      let server: RunningStunServer;
      try {
        server = await startStunServer({
          address: flags.address,
          port: flags.port,
          alternatePort: flags.alternatePort,
          software: 'p2psp',
          ...(flags.alternateAddress ? { alternateAddress: flags.alternateAddress } : {}),
        });
      } catch (error) {
        failAndExit(error);
      }
      // Handle signals before announcing, so a stop right after the line is polite.
      onShutdownSignal(async () => {
        await server.close();
        process.stdout.write(
          `served ${server.counters.responses} responses (${server.counters.errorResponses} errors), dropped ${server.counters.dropped}\n`,
        );
      });
      process.stdout.write(
        `STUN server listening on ${server.endpoints.map(formatEndpoint).join(', ')}${server.endpoints.length === 4 ? ' (RFC 5780)' : ''}\n`,
      );
    });
}
