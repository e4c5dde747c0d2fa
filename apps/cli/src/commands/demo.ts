import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { demoSamplePath } from '@p2psp/media/assets';
import { startMonitor } from '@p2psp/monitor';
import { type PeerHandle, startPeer } from '@p2psp/peer/node';
import { SourceMetrics, startSource } from '@p2psp/source/node';
import type { Command } from 'commander';
import {
  failAndExit,
  integerIn,
  LOG_LEVEL_HELP,
  logLevel,
  onShutdownSignal,
} from '../cli-errors.js';
import { createLogger } from '../logging.js';
import { SourceView, sourceStatusRoute, startStatusServer } from '../source-view.js';
import { startStatusLine } from '../status-line.js';

interface DemoFlags {
  peers: number;
  playerPort: number;
  monitorPort: number;
  input?: string;
  logLevel: string;
}

/**
 * The demo sample: the copy next to the bundle (apps/cli/dist/demo.mp3, copied at build, so
 * an installed CLI has it), else @p2psp/media's (running from the workspace sources).
 */
function demoSample(): string {
  const candidates = [fileURLToPath(new URL('./demo.mp3', import.meta.url)), demoSamplePath];
  for (const path of candidates) {
    if (existsSync(path)) return path;
  }
  throw Object.assign(
    new Error('the demo sample demo.mp3 is missing: rebuild with `pnpm turbo run build`'),
    { code: 'P2PSP_ERR_INGEST_FILE' },
  );
}

async function startDemoPeer(
  index: number,
  basePort: number,
  source: { address: string; port: number },
  logger: ReturnType<typeof createLogger>,
): Promise<PeerHandle> {
  const options = {
    source,
    playerAddress: '127.0.0.1',
    logger: logger.child({ peer: index + 1 }),
  };
  if (basePort === 0) return startPeer({ ...options, playerPort: 0 });
  try {
    return await startPeer({ ...options, playerPort: basePort + index });
  } catch (error) {
    // A busy demo port is no reason to fail the demo: take any free port instead.
    if ((error as { code?: string }).code !== 'P2PSP_ERR_PORT_IN_USE') throw error;
    return startPeer({ ...options, playerPort: 0 });
  }
}

/** `p2psp demo`: a source looping the demo sample and N peers, all in this process. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a source and a few peers on this machine, printing URLs to play')
    .option('-n, --peers <count>', 'how many peers', integerIn(1, 32), 4)
    .option(
      '--player-port <port>',
      'HTTP port of the first peer; the next ones count up (0: any free ports)',
      integerIn(0, 65_535),
      8080,
    )
    .option(
      '--monitor-port <port>',
      'HTTP port of the monitor dashboard (0: any free port)',
      integerIn(0, 65_535),
      8090,
    )
    .option('-i, --input <file>', 'loop this media file instead of the built-in sample')
    .option('--log-level <level>', LOG_LEVEL_HELP, logLevel, 'warn')
    .action(async (flags: DemoFlags) => {
      const logger = createLogger({ level: flags.logLevel });
      const peers: PeerHandle[] = [];
      let source: Awaited<ReturnType<typeof startSource>> | null = null;
      let status: Awaited<ReturnType<typeof startStatusServer>> | null = null;
      let monitor: Awaited<ReturnType<typeof startMonitor>> | null = null;
      // The dashboard's monitor joins first with a credential of this run (rule 8).
      const credential = randomBytes(16);
      const view = new SourceView();
      const metrics = new SourceMetrics();
      try {
        source = await startSource({
          input: flags.input ?? demoSample(),
          loop: true,
          address: '127.0.0.1',
          port: 0,
          core: { monitorCredential: credential },
          onEvent: (event) => {
            view.record(event);
            metrics.record(event);
          },
          logger: logger.child({ role: 'source' }),
        });
        view.attach(source);
        metrics.attach(source);
        status = await startStatusServer(
          [sourceStatusRoute(view, metrics, '127.0.0.1')],
          0,
          '127.0.0.1',
        );
        monitor = await startMonitor({
          source: `127.0.0.1:${source.endpoint.port}`,
          statusUrl: status.url,
          credential,
          port: flags.monitorPort,
          logger: logger.child({ role: 'monitor' }),
        }).catch((error) =>
          // A busy dashboard port is no reason to fail the demo: take any free port instead.
          (error as { code?: string }).code === 'P2PSP_ERR_PORT_IN_USE' ||
          (error as { code?: string }).code === 'EADDRINUSE'
            ? startMonitor({
                source: `127.0.0.1:${source!.endpoint.port}`,
                statusUrl: status!.url,
                credential,
                port: 0,
                logger: logger.child({ role: 'monitor' }),
              })
            : Promise.reject(error),
        );
        for (let index = 0; index < flags.peers; index += 1) {
          peers.push(await startDemoPeer(index, flags.playerPort, source.endpoint, logger));
        }
      } catch (error) {
        await Promise.all(peers.map((peer) => peer.stop()));
        await monitor?.stop();
        await status?.close();
        await source?.stop();
        failAndExit(error, logger);
      }
      // Both are set once the try block ran to its end (failAndExit never returns).
      const runningMonitor = monitor as NonNullable<typeof monitor>;
      const runningStatus = status as NonNullable<typeof status>;
      const runningSource = source;
      const lines = [
        '',
        `p2psp demo: a source (${runningSource.mediaType}, 127.0.0.1:${runningSource.endpoint.port}) and ${peers.length} peers on loopback.`,
        'Play any of these (they carry the same live stream):',
        ...peers.map((peer) => `  ${peer.playerUrl}`),
        '',
        `  ffplay -nodisp ${peers[0]?.playerUrl}      or      vlc ${peers[0]?.playerUrl}`,
        '  or open one in a browser. Per-peer counters: replace /stream with /status or /metrics.',
        `Dashboard: ${runningMonitor.url}   (source status: ${runningStatus.url}, metrics: ${runningStatus.url.replace(/\/status$/, '/metrics')})`,
        'Ctrl-C stops everything (peers say goodbye first).',
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      const stopStatus = startStatusLine(logger, () => {
        const statuses = peers.map((peer) => peer.status());
        return {
          members: runningSource.status().members,
          chunks: runningSource.status().chunksSent,
          bytes: runningSource.status().bytesIngested,
          lost: statuses.reduce((sum, status) => sum + status.chunksLost, 0),
          players: statuses.reduce((sum, status) => sum + status.players, 0),
        };
      });
      onShutdownSignal(async () => {
        stopStatus();
        await Promise.all(peers.map((peer) => peer.stop()));
        await runningMonitor.stop();
        await runningStatus.close();
        await runningSource.stop();
      });
      await runningSource.done;
    });
}
