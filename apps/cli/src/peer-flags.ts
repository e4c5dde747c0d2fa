import { readFileSync } from 'node:fs';
import { REJOIN_DEFAULTS } from '@p2psp/peer';
import { type PeerOptions, PLAYER_SERVER_DEFAULTS } from '@p2psp/peer/node';
import { type Command, Option } from 'commander';
import { integerIn, ipAddress } from './cli-errors.js';
import { badOption } from './node-flags.js';

/** The flags only a peer takes (`p2psp peer`, `p2psp node`). */
export interface PeerFlags {
  source?: string;
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

/**
 * Adds the flags only a peer takes: the source to join (required by `p2psp peer`; by
 * `p2psp node` for every role but source), the player port, the role, NAT and repair.
 */
export function addPeerFlags(command: Command, sourceRequired: boolean): Command {
  return command
    .addOption(
      new Option(
        '-s, --source <host:port>',
        'the source to join, e.g. 192.0.2.7:4552',
      ).makeOptionMandatory(sourceRequired),
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
    );
}

/** The peer the flags stand for (its UDP port and address aside, which `--port` and `--address` give). */
export function peerOptions(
  flags: PeerFlags & { readonly source: string },
): Omit<PeerOptions, 'port' | 'address' | 'logger' | 'onEvent'> {
  if (flags.monitor && flags.liberated) {
    throw badOption(
      '--monitor and --liberated both given: a liberated peer relays nothing, so it cannot monitor; use one of them',
    );
  }
  const credential = monitorCredential(flags);
  return {
    ...(credential === null ? {} : { credential }),
    source: flags.source,
    playerPort: flags.playerPort,
    playerAddress: flags.playerAddress,
    maxPlayers: flags.maxPlayers,
    maxPlayersPerAddress: flags.maxPlayersPerAddress,
    ...(flags.monitor ? { monitor: true } : {}),
    ...(flags.liberated ? { liberated: true } : {}),
    stun: flags.stun,
    natDetect: flags.natDetect,
    core: {
      ...(flags.playoutDelayMs !== undefined ? { playoutDelayMillis: flags.playoutDelayMs } : {}),
      repair: flags.repair,
    },
    rejoin: { timeoutMillis: flags.rejoinTimeout * 1000 },
  };
}
