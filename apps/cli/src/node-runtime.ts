import { createSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';
import { bindUdp, listenTcp } from '@p2psp/host';
import { type PeerHandle, type PeerStatus, startPeer } from '@p2psp/peer/node';
import {
  createInProcessIngest,
  DEFAULT_SOURCE_PORT,
  type InProcessInput,
  type SourceHandle,
  type SourceOptions,
  type SourceStatus,
  startSource,
} from '@p2psp/source/node';
import { formatEndpoint } from '@p2psp/wire';
import type { Logger } from './logging.js';
import { badOption } from './node-flags.js';
import type { StatusSample } from './status-line.js';

/** The roles a node starts in (`p2psp node --role`). */
export const START_ROLES = ['source', 'peer', 'monitor', 'liberated'] as const;
export type StartRole = (typeof START_ROLES)[number];

/**
 * Every role a node can be in: at run time a peer can also turn `liberated+source`, a
 * liberated peer of its cluster and, in the same process, the source of a private one.
 */
export const NODE_ROLES = [...START_ROLES, 'liberated+source'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** How long a peer turning liberated+source waits to be streaming again as liberated. */
const LIBERATED_REJOIN_MILLIS = 15_000;

/** The code of a role change refused: nothing changed. */
export const ROLE_CHANGE_REFUSED = 'P2PSP_ERR_ROLE_CHANGE';

/** A role change asked for (`POST /ctl/role`, `p2psp ctl HOST:PORT role ...`). */
export interface RoleRequest {
  readonly role: NodeRole;
  /** For `liberated+source`: the private cluster's port (default 4552; 0 picks one). */
  readonly port?: number;
  /** For `liberated+source`: its address (default 0.0.0.0). */
  readonly address?: string;
}

/** What `GET /ctl` answers. */
export interface NodeStatus {
  readonly role: NodeRole;
  /** The role change in progress, or null. */
  readonly changing: NodeRole | null;
  /** The cluster this node is a peer of (every role but source), or null. */
  readonly peer: PeerStatus | null;
  /** The cluster this node feeds: its own (role source) or the private one, or null. */
  readonly source: (SourceStatus & { readonly private: boolean }) | null;
}

function refused(message: string): Error {
  return Object.assign(new Error(message), { code: ROLE_CHANGE_REFUSED });
}

/**
 * Refuses a private source's port in use before the node rejoins as liberated, so that the
 * refusal changes nothing (TCP and UDP share the port; 0 always binds).
 */
async function checkPortFree(address: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  try {
    await listenTcp(server, { address, port });
    await bindUdp(socket, { address, port });
  } catch (error) {
    throw refused(
      `the private source cannot listen on ${formatEndpoint({ address, port })} (${(error as { code?: string }).code ?? (error as Error).message}): pick another port (0 picks a free one)`,
    );
  } finally {
    server.close();
    socket.close();
  }
}

/** A private cluster run by this node: its source fed in-process by the node's players' stream. */
interface PrivateCluster {
  readonly source: SourceHandle;
  readonly input: InProcessInput;
  readonly removeTap: () => void;
}

/**
 * One node in any role: the source of a cluster, or a peer of one (plain, monitor,
 * liberated), which can change role while it runs (`transmute`). Its players stay
 * connected across a change.
 */
export class P2pspNode {
  readonly done: Promise<string>;
  #role: NodeRole;
  #changing: NodeRole | null = null;
  #private: PrivateCluster | null = null;
  readonly #peer: PeerHandle | null;
  readonly #source: SourceHandle | null;
  /** The private source's settings but its input and endpoint (the node's source flags). */
  readonly #privateSource: Partial<SourceOptions>;
  readonly #logger: Logger | undefined;

  private constructor(
    role: StartRole,
    peer: PeerHandle | null,
    source: SourceHandle | null,
    privateSource: Partial<SourceOptions>,
    logger: Logger | undefined,
  ) {
    this.#role = role;
    this.#peer = peer;
    this.#source = source;
    this.#privateSource = privateSource;
    this.#logger = logger;
    this.done = (peer ?? (source as SourceHandle)).done;
  }

  /** A node that is a source (`source`) or a peer of `peer.source` in `role`. */
  static async start(
    role: StartRole,
    options: {
      readonly source?: SourceOptions;
      readonly peer?: Omit<PeerOptions, 'monitor' | 'liberated'>;
      /** The settings of a private cluster's source, if the node is asked to run one. */
      readonly privateSource?: Partial<SourceOptions>;
      readonly logger?: Logger;
    },
  ): Promise<P2pspNode> {
    if (role === 'source') {
      if (options.source === undefined) throw badOption('a source node needs its input');
      const source = await startSource(options.source);
      return new P2pspNode(role, null, source, {}, options.logger);
    }
    if (options.peer === undefined) throw badOption(`a ${role} node needs --source HOST:PORT`);
    const peer = await startPeer({
      ...options.peer,
      ...(role === 'monitor' ? { monitor: true } : {}),
      ...(role === 'liberated' ? { liberated: true } : {}),
    });
    return new P2pspNode(role, peer, null, options.privateSource ?? {}, options.logger);
  }

  get role(): NodeRole {
    return this.#role;
  }

  /** The peer of a cluster this node is, or null (a source). */
  get peer(): PeerHandle | null {
    return this.#peer;
  }

  /** The source this node runs: its own cluster's, or the private one's; null when none. */
  get source(): SourceHandle | null {
    return this.#source ?? this.#private?.source ?? null;
  }

  status(): NodeStatus {
    const source = this.source;
    return {
      role: this.#role,
      changing: this.#changing,
      peer: this.#peer?.status() ?? null,
      source: source === null ? null : { ...source.status(), private: this.#source === null },
    };
  }

  /** The status line's sample: the peer's playing, or the source's sending. */
  sample(): StatusSample {
    if (this.#peer !== null) {
      const { members, chunksPlayed, bytesPlayed, chunksLost, players } = this.#peer.status();
      return { members, chunks: chunksPlayed, bytes: bytesPlayed, lost: chunksLost, players };
    }
    const { members, chunksSent, bytesIngested, chunksDropped } = (
      this.#source as SourceHandle
    ).status();
    return { members, chunks: chunksSent, bytes: bytesIngested, lost: chunksDropped };
  }

  /**
   * Changes role at run time; rejects with `P2PSP_ERR_ROLE_CHANGE` when the change makes
   * no sense, and then nothing changed:
   * - `peer` or `liberated` to `liberated+source`: the node rejoins its cluster as liberated
   *   (its source stops feeding it; the members do), then a private cluster's source starts
   *   on `request.port`, fed in-process by the stream this node plays (header first, then
   *   from a sync point; its own chunk numbers).
   * - back to `peer` or `liberated`: the private source ends its stream (its peers get the
   *   source's `stream-end` goodbye) and the node rejoins as asked.
   * A source or a monitor keeps its role.
   */
  async transmute(request: RoleRequest): Promise<void> {
    const from = this.#role;
    const to = request.role;
    if (this.#changing !== null) {
      throw refused(`a change to ${this.#changing} is in progress: ask again once it is done`);
    }
    const peer = this.#peer;
    if (peer === null) {
      throw refused(
        `this node is a source: it is in no cluster, so it cannot become ${to}; start a node with --role peer --source HOST:PORT to change roles at run time`,
      );
    }
    if (from === 'monitor' || to === 'monitor' || to === 'source') {
      throw refused(
        `a ${from} cannot become ${to} at run time: a monitor keeps its role, and a node becomes a source only of its own stream (liberated+source); ask for peer, liberated or liberated+source`,
      );
    }
    if (from === to) return;
    this.#changing = to;
    try {
      if (to === 'liberated+source') {
        this.#private = await this.#startPrivate(peer, request, from);
      } else {
        await this.#stopPrivate();
        peer.changeRole(to);
      }
      this.#role = to;
      this.#logger?.info({ from, to }, 'role-change');
    } finally {
      this.#changing = null;
    }
  }

  /**
   * Rejoins as liberated first, then feeds the private source from a sync point of the new
   * session's stream: the private stream then never holds the splice of the rejoin.
   */
  async #startPrivate(
    peer: PeerHandle,
    request: RoleRequest,
    from: NodeRole,
  ): Promise<PrivateCluster> {
    if (peer.fanOut.streamMediaType === null || peer.status().state !== 'streaming') {
      throw refused(
        'this node has no stream yet (it is joining its cluster): it cannot be the source of a private cluster until it plays; ask again in a moment',
      );
    }
    await checkPortFree(request.address ?? '0.0.0.0', request.port ?? DEFAULT_SOURCE_PORT);
    if (from !== 'liberated') {
      const rejoins = peer.status().rejoin.rejoins;
      peer.changeRole('liberated');
      const deadline = performance.now() + LIBERATED_REJOIN_MILLIS;
      while (peer.status().rejoin.rejoins === rejoins || peer.status().state !== 'streaming') {
        if (performance.now() > deadline) {
          peer.changeRole('peer');
          throw refused(
            `the node did not rejoin its cluster as liberated within ${LIBERATED_REJOIN_MILLIS} ms (its source may refuse liberated peers, or no member feeds it): it is a plain peer again`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const { input, opened } = createInProcessIngest(
      `liberated peer of ${formatEndpoint(peer.source)}`,
    );
    const removeTap = peer.fanOut.addTap(input);
    const logger = this.#logger?.child({ cluster: 'private' });
    try {
      const source = await startSource({
        ...this.#privateSource,
        ingest: await opened,
        port: request.port ?? DEFAULT_SOURCE_PORT,
        address: request.address ?? '0.0.0.0',
        ...(logger ? { logger } : {}),
      });
      // The stream ended (the public one did, or the private source failed): a liberated peer.
      void source.done.then((reason) => {
        if (this.#private?.source !== source) return;
        this.#logger?.warn({ reason }, 'private-source-stop');
        removeTap();
        this.#private = null;
        if (this.#role === 'liberated+source') this.#role = 'liberated';
      });
      return { source, input, removeTap };
    } catch (error) {
      removeTap();
      if (from !== 'liberated') peer.changeRole('peer');
      const code = (error as { code?: unknown }).code;
      throw refused(
        `the private source did not start: ${(error as Error).message}${typeof code === 'string' ? ` [${code}]` : ''}`,
      );
    }
  }

  /** Ends the private cluster's stream: its source says `stream-end` to its peers, then stops. */
  async #stopPrivate(): Promise<void> {
    const cluster = this.#private;
    if (cluster === null) return;
    this.#private = null;
    cluster.removeTap();
    cluster.input.end();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      cluster.source.done.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 3_000);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) await cluster.source.stop();
  }

  async stop(): Promise<void> {
    await this.#stopPrivate();
    await (this.#peer ?? (this.#source as SourceHandle)).stop();
  }
}

type PeerOptions = Parameters<typeof startPeer>[0];
