import { SourceMetrics } from '@p2psp/source/node';
import { exitAfterStop, failAndExit, onShutdownSignal } from './cli-errors.js';
import { type CtlOptions, ctlRoute, startCtl } from './ctl-server.js';
import { createLogger, type Logger } from './logging.js';
import { type NodeFlags, roleEndpoint } from './node-flags.js';
import { P2pspNode, type StartRole } from './node-runtime.js';
import { type PeerFlags, peerOptions } from './peer-flags.js';
import { type SourceFlags, sourceOptions } from './source-flags.js';
import {
  SourceView,
  type StatusRoute,
  sourceStatusRoute,
  startStatusServer,
} from './source-view.js';
import { type StatusSample, startStatusLine } from './status-line.js';

/** What `p2psp node` runs: a source, a peer, or a node changing between them. */
export interface RunningNode {
  /** Resolves with why the node stopped (`stop`, `stream-end`, or a failure's reason). */
  readonly done: Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs a started node until it stops: a status line on a terminal, a polite stop on
 * SIGINT/SIGTERM (goodbyes, rule 6), then the exit status that names why it stopped.
 * `close` ends what the command serves beside the node (a status port).
 */
export async function runUntilStopped(
  role: 'source' | 'peer',
  node: RunningNode,
  logger: Logger,
  sample: () => StatusSample,
  close: () => Promise<void> = async () => {},
): Promise<never> {
  const stopStatus = startStatusLine(logger, sample);
  onShutdownSignal(async () => {
    stopStatus();
    await node.stop();
    await close();
  });
  const reason = await node.done;
  stopStatus();
  await close();
  exitAfterStop(role, reason, logger);
}

/** The flags of `p2psp node`: every role's. */
export type AllFlags = NodeFlags & SourceFlags & PeerFlags & Partial<CtlOptions>;

/**
 * What `p2psp node` and its shorthands run: the node in `role` from the flags, the status
 * port (a source's status, and the control API when `ctl` is on), until it stops.
 */
export async function runNode(
  role: StartRole,
  flags: NodeFlags & Partial<SourceFlags> & Partial<PeerFlags> & Partial<CtlOptions>,
  ctl = false,
): Promise<never> {
  const logger = createLogger({ level: flags.logLevel });
  let node: P2pspNode;
  let statusServer: Awaited<ReturnType<typeof startStatusServer>> | null = null;
  try {
    const view = new SourceView();
    const metrics = new SourceMetrics();
    const asSource = role === 'source';
    const endpoint = roleEndpoint(flags, asSource ? 'source' : 'peer');
    const sourceFlags = flags as SourceFlags;
    node = await P2pspNode.start(role, {
      logger,
      ...(asSource
        ? {
            source: {
              ...sourceOptions(sourceFlags),
              input: flags.input,
              listenSource: flags.listenSource,
              ...endpoint,
              onEvent: (event) => {
                view.record(event);
                metrics.record(event);
              },
              logger,
            },
          }
        : {
            peer: {
              ...peerOptions({ ...(flags as PeerFlags), source: flags.source ?? '' }),
              ...endpoint,
              logger,
            },
            ...(ctl ? { privateSource: sourceOptions(sourceFlags) } : {}),
          }),
    });
    const routes: StatusRoute[] = [];
    if (ctl && flags.statusPort !== undefined) routes.push(ctlRoute(node, startCtl(flags)));
    if (node.source !== null) {
      view.attach(node.source);
      metrics.attach(node.source);
      routes.push(sourceStatusRoute(view, metrics, flags.statusAddress ?? '127.0.0.1'));
    }
    if (flags.statusPort !== undefined && routes.length > 0) {
      statusServer = await startStatusServer(
        routes,
        flags.statusPort,
        flags.statusAddress ?? '127.0.0.1',
      );
      logger.info({ url: statusServer.url }, 'status-listen');
      if (ctl) process.stdout.write(`ctl: ${statusServer.url.replace(/\/status$/, '/ctl')}\n`);
    }
  } catch (error) {
    failAndExit(error, logger);
  }
  const peer = node.peer;
  if (peer !== null) {
    logger.info({ url: peer.playerUrl }, 'player-url');
    process.stdout.write(`play: ${peer.playerUrl}  (e.g. ffplay ${peer.playerUrl})\n`);
  }
  const running = node;
  return runUntilStopped(
    role === 'source' ? 'source' : 'peer',
    running,
    logger,
    () => running.sample(),
    async () => statusServer?.close(),
  );
}
