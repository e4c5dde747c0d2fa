import { DEFAULT_SOURCE_PORT, type SourceOptions } from '@p2psp/source/node';
import type { Endpoint } from '@p2psp/wire';
import type { Command } from 'commander';
import {
  bitrate,
  chunkSize,
  integerIn,
  ipAddress,
  sourceEndpoint,
  sourceEndpoints,
  uploadFactor,
} from './cli-errors.js';
import { badOption, type NodeFlags } from './node-flags.js';
import { clusterOptions, type HealthFlags, registerHealthOptions } from './source-health.js';

/** The flags only a source takes (`p2psp source`, `p2psp node`). */
export interface SourceFlags extends HealthFlags, Pick<NodeFlags, 'port'> {
  input?: string;
  listenSource?: string;
  sourcePassword?: string;
  fallback?: string;
  chunkSize: number;
  buffer: number;
  loop?: boolean;
  bitrate?: number;
  mediaType?: string;
  icyMetadata?: boolean;
  title?: string;
  streamName?: string;
  streamDescription?: string;
  streamGenre?: string;
  streamUrl?: string;
  maxMembers: number;
  maxMemberUpload: number;
  maxMembersPerAddress: number;
  maxJoinsPerAddress: number;
  joinRate: number;
  statusPort?: number;
  statusAddress: string;
  alternateAddress?: string;
  alternatePort?: number;
  /** Trees of clusters (docs/trees.md): child sources, and the parent this one reports to. */
  child: Endpoint[];
  parent?: Endpoint;
}

/** Adds the flags only a source takes: the input, the cluster's rules, the status port. */
export function addSourceFlags(command: Command): Command {
  return registerHealthOptions(command)
    .option(
      '-i, --input <url|file|->',
      'an http(s) Icecast/SHOUTcast URL, a media file (MP3, Ogg, WebM), or - for stdin',
    )
    .option(
      '--listen-source <[host:]port/mount>',
      'instead of --input: take the stream from Icecast source clients (ffmpeg, Liquidsoap, butt) pushing to this mount (PUT or SOURCE)',
    )
    .option(
      '--source-password <password>',
      'with --listen-source: the password source clients send (user source)',
    )
    .option(
      '--fallback <file>',
      'while the input is away or stalled (a source client left, a URL reconnects, no byte for 2 s), play this file (looped) instead of silence',
    )
    .option(
      '--chunk-size <bytes>',
      'payload bytes per chunk (64-1420: one 1,500-byte MTU datagram)',
      chunkSize,
      1024,
    )
    .option(
      '-b, --buffer <chunks>',
      'buffer size B in chunks (at least the cluster size)',
      integerIn(2, 65_536),
      64,
    )
    .option('--loop', 'repeat a file input forever (without it the stream ends at end of file)')
    .option('--bitrate <bps>', 'pace a file with no timing of its own (e.g. 128k)', bitrate)
    .option('--media-type <type>', 'force the media type (e.g. audio/ogg) instead of detecting it')
    .option(
      '--icy-metadata',
      "ask an HTTP input for ICY metadata: its titles go to the peers' players",
    )
    .option('--title <text>', 'the stream title players show until the input sends one')
    .option(
      '--stream-name <text>',
      "the station's name for players (icy-name); wins over a source client's ice-name",
    )
    .option('--stream-description <text>', "the station's description (icy-description)")
    .option('--stream-genre <text>', "the station's genre (icy-genre)")
    .option('--stream-url <url>', "the station's web site (icy-url)")
    .option(
      '--alternate-address <ip>',
      'a second IP of this machine: the cluster port then serves RFC 5780 NAT discovery to joiners (needs --address)',
      ipAddress,
    )
    .option(
      '--alternate-port <port>',
      'the RFC 5780 alternate port (default: --port + 1)',
      integerIn(1, 65_535),
    )
    .option(
      '--max-members <count>',
      'members the source feeds (monitors included); joiners above become external peers, fed by the members (seed 000), up to 64 and as many as --max-member-upload allows, then are refused cluster-full',
      integerIn(1, 1_000_000),
      256,
    )
    .option(
      '--max-member-upload <factor>',
      'most a fed member uploads, in streams: with N fed members, (factor - 1) x N + 1 external peers at most',
      uploadFactor,
      2,
    )
    .option(
      '--max-members-per-address <count>',
      'members from one IP address (viewers behind one NAT share it); above, joiners are refused: a few on the open internet (docs/security.md)',
      integerIn(1, 1_000_000),
      64,
    )
    .option(
      '--max-joins-per-address <count>',
      'joins in progress (connected, no UDP hello yet) from one IP address; above, connections are closed',
      integerIn(1, 1_000_000),
      16,
    )
    .option(
      '--join-rate <per-second>',
      'joins admitted per second, all addresses together (bursts of 5 s worth); above, joiners are refused',
      integerIn(1, 1_000_000),
      100,
    )
    .option(
      '--child <ip:port>',
      'a child source (repeatable): when this cluster is full (--max-members), new joiners are redirected to the child with most room; children that report with --parent are learnt too (docs/trees.md)',
      sourceEndpoints,
      [],
    )
    .option(
      '--parent <ip:port>',
      "the source whose cluster feeds this one through a liberated peer on this host: told this source's load every second, so that it redirects joiners here when full",
      sourceEndpoint,
    )
    .option(
      '--status-port <port>',
      'serve GET /status (members, roles, complaints, expulsions as JSON), GET /events (server-sent events) and GET /metrics (Prometheus) on this port',
      integerIn(0, 65_535),
    )
    .option('--status-address <ip>', 'address of the status port', ipAddress, '127.0.0.1');
}

/**
 * The source the flags stand for, its stream input aside: a private cluster's source takes
 * an in-process ingest instead (node-runtime.ts).
 */
export function sourceOptions(
  flags: SourceFlags,
): Omit<SourceOptions, 'input' | 'listenSource' | 'address' | 'port' | 'logger' | 'onEvent'> {
  const health = clusterOptions(flags);
  return {
    core: {
      ...health,
      cluster: { ...health.cluster, admission: { maxMemberUpload: flags.maxMemberUpload } },
      maxMembersPerAddress: flags.maxMembersPerAddress,
      maxJoinsPerAddress: flags.maxJoinsPerAddress,
      joinsPerSecond: flags.joinRate,
      tree: treeOptions(flags),
    },
    sourcePassword: flags.sourcePassword,
    fallback: flags.fallback,
    chunkSize: flags.chunkSize,
    bufferSize: flags.buffer,
    maxMembers: flags.maxMembers,
    ...(flags.loop ? { loop: true } : {}),
    bitrate: flags.bitrate,
    mediaType: flags.mediaType,
    ...(flags.icyMetadata ? { icyMetadata: true } : {}),
    ...(flags.title !== undefined ? { title: flags.title } : {}),
    streamInfo: {
      name: flags.streamName,
      description: flags.streamDescription,
      genre: flags.streamGenre,
      url: flags.streamUrl,
      // icy-br is in kbit/s.
      bitrate: flags.bitrate === undefined ? undefined : Math.round(flags.bitrate / 1000),
    },
    stunAlternateAddress: flags.alternateAddress,
    stunAlternatePort: flags.alternatePort,
  };
}

/** `--child` and `--parent`: the parent is told the port this source takes joins on. */
function treeOptions(flags: SourceFlags) {
  const joinPort = flags.port ?? DEFAULT_SOURCE_PORT;
  if (flags.parent !== undefined && joinPort === 0) {
    throw badOption(
      '--parent: the parent must be told the port this source takes joins on; give --port (not 0)',
    );
  }
  return {
    children: flags.child ?? [],
    parent: flags.parent === undefined ? null : { endpoint: flags.parent, joinPort },
  };
}
