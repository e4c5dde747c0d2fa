import { DEFAULT_SOURCE_PORT, SourceMetrics, startSource } from '@p2psp/source/node';
import type { Command } from 'commander';
import {
  bitrate,
  chunkSize,
  failAndExit,
  integerIn,
  ipAddress,
  LOG_LEVEL_HELP,
  logLevel,
  uploadFactor,
} from '../cli-errors.js';
import { createLogger } from '../logging.js';
import { runUntilStopped } from '../run-node.js';
import { clusterOptions, type HealthFlags, registerHealthOptions } from '../source-health.js';
import { SourceView, startStatusServer } from '../source-view.js';

interface SourceFlags extends HealthFlags {
  input?: string;
  listenSource?: string;
  sourcePassword?: string;
  fallback?: string;
  address: string;
  port: number;
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
  logLevel: string;
  statusPort?: number;
  statusAddress: string;
  alternateAddress?: string;
  alternatePort?: number;
}

/** `p2psp source`: ingest a live stream and feed a cluster (DBS rules 1, 4, 6). */
export function registerSourceCommand(program: Command): void {
  registerHealthOptions(program.command('source'))
    .description(
      'ingest a live stream (URL, file, stdin, or pushed by Icecast source clients) and feed a cluster of peers',
    )
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
    .option('-a, --address <ip>', 'address to listen on (TCP joins and UDP)', ipAddress, '0.0.0.0')
    .option(
      '-p, --port <port>',
      'port for TCP joins and UDP chunks (0 picks one)',
      integerIn(0, 65_535),
      DEFAULT_SOURCE_PORT,
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
      '--status-port <port>',
      'serve GET /status (members, roles, complaints, expulsions as JSON), GET /events (server-sent events) and GET /metrics (Prometheus) on this port',
      integerIn(0, 65_535),
    )
    .option('--status-address <ip>', 'address of the status port', ipAddress, '127.0.0.1')
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'info')
    .addHelpText(
      'after',
      `
Examples:
  p2psp source --input music.mp3 --loop --monitor-credential-file monitor.secret --status-port 9100
  p2psp source --input https://icecast.example.org:8000/radio.ogg
  p2psp source --input music.mp3 --loop
  p2psp source --listen-source 8000/live.mp3 --source-password hackme
    (then push to it: ffmpeg -re -i music.flac -c:a libmp3lame -content_type audio/mpeg -f mp3 icecast://source:hackme@HOST:8000/live.mp3)
  ffmpeg -re -i talk.flac -c:a libopus -f ogg - | p2psp source --input -
Then, on each peer machine: p2psp peer --source THIS_HOST:${DEFAULT_SOURCE_PORT}`,
    )
    .action(async (flags: SourceFlags) => {
      const logger = createLogger({ level: flags.logLevel });
      const view = new SourceView();
      const metrics = new SourceMetrics();
      let source: Awaited<ReturnType<typeof startSource>>;
      let statusServer: Awaited<ReturnType<typeof startStatusServer>> | null = null;
      try {
        const health = clusterOptions(flags);
        source = await startSource({
          core: {
            ...health,
            cluster: { ...health.cluster, admission: { maxMemberUpload: flags.maxMemberUpload } },
            maxMembersPerAddress: flags.maxMembersPerAddress,
            maxJoinsPerAddress: flags.maxJoinsPerAddress,
            joinsPerSecond: flags.joinRate,
          },
          onEvent: (event) => {
            view.record(event);
            metrics.record(event);
          },
          input: flags.input,
          listenSource: flags.listenSource,
          sourcePassword: flags.sourcePassword,
          fallback: flags.fallback,
          address: flags.address,
          port: flags.port,
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
          logger,
        });
        view.attach(source);
        metrics.attach(source);
        if (flags.statusPort !== undefined) {
          statusServer = await startStatusServer(
            view,
            metrics,
            flags.statusPort,
            flags.statusAddress,
          );
          logger.info({ url: statusServer.url }, 'status-listen');
        }
      } catch (error) {
        failAndExit(error, logger);
      }
      await runUntilStopped(
        'source',
        source,
        logger,
        () => {
          const { members, chunksSent, bytesIngested, chunksDropped } = source.status();
          return { members, chunks: chunksSent, bytes: bytesIngested, lost: chunksDropped };
        },
        async () => statusServer?.close(),
      );
    });
}
