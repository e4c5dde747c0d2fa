import { readFileSync } from 'node:fs';
import { REJOIN_DEFAULTS } from '@p2psp/peer';
import { PLAYER_SERVER_DEFAULTS, startPeer } from '@p2psp/peer/node';
import type { Command } from 'commander';
import { failAndExit, integerIn, ipAddress, LOG_LEVEL_HELP, logLevel } from '../cli-errors.js';
import { createLogger } from '../logging.js';
import { runUntilStopped } from '../run-node.js';

interface PeerFlags {
  source: string;
  port: number;
  address?: string;
  playerPort: number;
  playerAddress: string;
  maxPlayers: number;
  maxPlayersPerAddress: number;
  monitor?: boolean;
  liberated?: boolean;
  credential?: string;
  credentialFile?: string;
  playoutDelayMs?: number;
  stun?: string;
  natDetect: boolean;
  repair: boolean;
  rejoinTimeout: number;
  logLevel: string;
}

function badOption(message: string): Error {
  return Object.assign(new Error(message), { code: 'P2PSP_ERR_BAD_OPTION' });
}

/** The monitor credential from --credential or --credential-file, as bytes. */
function monitorCredential(flags: PeerFlags): Uint8Array | null {
  if (flags.credential === undefined && flags.credentialFile === undefined) return null;
  if (flags.credential !== undefined && flags.credentialFile !== undefined) {
    throw badOption('--credential and --credential-file both given: use one of them');
  }
  if (!flags.monitor) {
    throw badOption(
      'a credential is only for monitors: add --monitor, or drop --credential / --credential-file',
    );
  }
  let text = flags.credential;
  if (flags.credentialFile !== undefined) {
    try {
      text = readFileSync(flags.credentialFile, 'utf8').split(/\r?\n/)[0];
    } catch (error) {
      throw badOption(
        `--credential-file ${flags.credentialFile}: cannot read it (${(error as Error).message}); give a readable file whose first line is the secret`,
      );
    }
  }
  if (text === undefined || text.length === 0) {
    throw badOption('the credential is empty: give the secret the source was started with');
  }
  return new TextEncoder().encode(text);
}

/** `p2psp peer`: join a cluster, relay chunks, serve the stream to players over HTTP. */
export function registerPeerCommand(program: Command): void {
  program
    .command('peer')
    .description('join a cluster, relay its chunks, and serve the stream to players over HTTP')
    .requiredOption('-s, --source <host:port>', 'the source to join, e.g. 192.0.2.7:4552')
    .option('-p, --port <port>', 'UDP port of this peer (0 picks one)', integerIn(0, 65_535), 0)
    .option(
      '-a, --address <ip>',
      'UDP address to bind (default: all, of the source family)',
      ipAddress,
    )
    .option(
      '--player-port <port>',
      'HTTP port players connect to (0 picks one)',
      integerIn(0, 65_535),
      8080,
    )
    .option(
      '--player-address <ip>',
      'HTTP address for players (0.0.0.0 to serve other machines)',
      ipAddress,
      '127.0.0.1',
    )
    .option(
      '--max-players <count>',
      'players served at once; more are answered 503 with Retry-After (each may hold up to 1 MiB unsent)',
      integerIn(1, 65_535),
      PLAYER_SERVER_DEFAULTS.maxPlayers,
    )
    .option(
      '--max-players-per-address <count>',
      'players served at once to one client address (a household, or this machine)',
      integerIn(1, 65_535),
      PLAYER_SERVER_DEFAULTS.maxPlayersPerAddress,
    )
    .option('--monitor', 'ask for the monitor role (reports lost chunks to the source)')
    .option(
      '--liberated',
      'ask for the liberated role: the source sends this peer no chunks, the other peers feed it, it relays nothing; its player port is a mount another source can ingest (p2psp source --input http://HOST:PORT/stream: a private cluster)',
    )
    .option(
      '--credential <secret>',
      "with --monitor: the source's monitor credential (p2psp source --monitor-credential)",
    )
    .option(
      '--credential-file <path>',
      'with --monitor: read the credential from a file (first line; keeps it out of the process list)',
    )
    .option(
      '--playout-delay-ms <ms>',
      'target play-out delay in ms (default 500): in chunks with the chunk interval, within [8 chunks, B/2]; less joins faster, tolerates less lateness',
      integerIn(1, 3_600_000),
    )
    .option(
      '--stun <host:port>',
      'STUN server for NAT detection before joining (default: the source, which answers STUN on its port; an RFC 5780 server also classifies the NAT)',
    )
    .option('--no-nat-detect', 'skip NAT detection (the join request then reports an unknown NAT)')
    .option(
      '--no-repair',
      'plain DBS: never ask neighbours for lost chunks, nor answer their chunk-requests (RMS-lite repair is on by default)',
    )
    .option(
      '--rejoin-timeout <seconds>',
      'when the source removes this peer or falls silent, keep joining again (players stay connected) for this long, then exit 1 naming the cause; 0: exit at once',
      integerIn(0, 86_400),
      REJOIN_DEFAULTS.timeoutMillis / 1000,
    )
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'info')
    .addHelpText(
      'after',
      `
Examples:
  p2psp peer --source 192.0.2.7:4552
  p2psp peer --source radio.example.org:4552 --player-port 9000
  p2psp peer --source 192.0.2.7:4552 --liberated --player-address 0.0.0.0 --player-port 8000
    then, for a private cluster: p2psp source --input http://THIS-HOST:8000/stream
Then play http://127.0.0.1:8080/stream with ffplay, mpv, VLC or a browser.`,
    )
    .action(async (flags: PeerFlags) => {
      const logger = createLogger({ level: flags.logLevel });
      let peer: Awaited<ReturnType<typeof startPeer>>;
      try {
        if (flags.monitor && flags.liberated) {
          throw badOption(
            '--monitor and --liberated both given: a liberated peer relays nothing, so it cannot monitor; use one of them',
          );
        }
        const credential = monitorCredential(flags);
        peer = await startPeer({
          ...(credential === null ? {} : { credential }),
          source: flags.source,
          port: flags.port,
          address: flags.address,
          playerPort: flags.playerPort,
          playerAddress: flags.playerAddress,
          maxPlayers: flags.maxPlayers,
          maxPlayersPerAddress: flags.maxPlayersPerAddress,
          ...(flags.monitor ? { monitor: true } : {}),
          ...(flags.liberated ? { liberated: true } : {}),
          stun: flags.stun,
          natDetect: flags.natDetect,
          core: {
            ...(flags.playoutDelayMs !== undefined
              ? { playoutDelayMillis: flags.playoutDelayMs }
              : {}),
            repair: flags.repair,
          },
          rejoin: { timeoutMillis: flags.rejoinTimeout * 1000 },
          logger,
        });
      } catch (error) {
        failAndExit(error, logger);
      }
      logger.info({ url: peer.playerUrl }, 'player-url');
      process.stdout.write(`play: ${peer.playerUrl}  (e.g. ffplay ${peer.playerUrl})\n`);
      await runUntilStopped('peer', peer, logger, () => {
        const { members, chunksPlayed, bytesPlayed, chunksLost, players } = peer.status();
        return { members, chunks: chunksPlayed, bytes: bytesPlayed, lost: chunksLost, players };
      });
    });
}
