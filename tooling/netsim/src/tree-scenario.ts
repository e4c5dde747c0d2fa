import { type PeerEvent, RejoiningPeerCore } from '@p2psp/peer';
import { SourceCore } from '@p2psp/source';
import { type CoreOutput, type Endpoint, formatEndpoint } from '@p2psp/wire';
import { type SimulatedNode, Simulator } from './simulator.js';
import { type Distribution, distribution, MillisecondHistogram } from './statistics.js';
import { streamOffsetOf } from './stream-content.js';
import { StreamGenerator } from './stream-generator.js';

/**
 * A tree of clusters (docs/trees.md): the root source's cluster holds at most
 * `clusterSize` members; some of them are liberated peers, each on one host with the source
 * of a child cluster that it feeds in-process (its played chunks are that source's ingest),
 * recursively. Listeners all join the root; full sources redirect them down the tree.
 */
export interface TreeScenarioOptions {
  readonly seed: number;
  readonly listeners: number;
  /** C: members a source takes (`maxMembers`), liberated ones included. */
  readonly clusterSize: number;
  /** Child clusters under each inner cluster (the last level gets what the listeners need). */
  readonly childrenPerCluster: number;
  /** B of every source; null: 2C. */
  readonly bufferSize: number | null;
  readonly seconds: number;
  readonly bitrate: number;
  readonly chunkSize: number;
  /** One-way delay of every path, ms (half on each access link). */
  readonly latencyMs: number;
  /** Loss of every path between two hosts (split over both access links). */
  readonly loss: number;
  /**
   * Listeners join evenly over this window; those for the places at depth d start
   * d x `TREE_WARMUP_MS` later.
   */
  readonly joinWindowMs: number;
  /** Loss and delay count from here; null: 10 s after the last listener started. */
  readonly measureFromMs: number | null;
  /**
   * Crash the first child source at `depth` (its liberated peer with it) at `atMs`; a
   * negative depth counts from the deepest level (-1: a leaf). `leave`: it stops politely
   * instead (its goodbyes), as an operator stopping it would.
   */
  readonly crash: {
    readonly atMs: number;
    readonly depth: number;
    readonly leave?: boolean;
  } | null;
  /** Listeners' source-silence timeout before they rejoin (null: the rejoining core's). */
  readonly listenerSourceTimeoutMs: number | null;
}

export const TREE_DEFAULTS: Omit<TreeScenarioOptions, 'listeners'> = {
  seed: 1,
  clusterSize: 100,
  childrenPerCluster: 10,
  bufferSize: null,
  seconds: 40,
  bitrate: 128_000,
  chunkSize: 1024,
  latencyMs: 20,
  loss: 0.01,
  joinWindowMs: 10_000,
  measureFromMs: null,
  crash: null,
  listenerSourceTimeoutMs: null,
};

/** The tree the listeners need: how many clusters at each depth. */
export interface TreePlan {
  /** Sources per depth, the root's first (`[1, f, ...]`). */
  readonly clustersPerDepth: readonly number[];
  /** Listener places, spare included (a crashed leaf's listeners must fit elsewhere). */
  readonly capacity: number;
}

/**
 * The shallowest tree with room for the listeners and one cluster to spare: inner levels
 * have `childrenPerCluster` children each, the last level as many leaves as needed (spread
 * over the level above). Depth grows as log(listeners / C) in base f.
 */
export function planTree(listeners: number, clusterSize: number, fanOut: number): TreePlan {
  if (listeners <= clusterSize) return { clustersPerDepth: [1], capacity: clusterSize };
  for (let depth = 1; depth < 12; depth++) {
    // Inner levels 0..depth-2 are complete; level depth-1 holds the leaves' feeders.
    const clustersPerDepth = [1];
    let innerPlaces = 0;
    for (let level = 0; level < depth - 1; level++) {
      innerPlaces += clustersPerDepth[level]! * (clusterSize - fanOut);
      clustersPerDepth.push(clustersPerDepth[level]! * fanOut);
    }
    const parents = clustersPerDepth[depth - 1]!;
    // Places: inner + parents x C - leaves (each leaf's feeder takes one) + leaves x C.
    const needed = listeners + clusterSize - innerPlaces - parents * clusterSize;
    const leaves = Math.max(1, Math.ceil(needed / (clusterSize - 1)));
    if (leaves > parents * (fanOut + 1)) continue;
    clustersPerDepth.push(leaves);
    return {
      clustersPerDepth,
      capacity: innerPlaces + parents * clusterSize + leaves * (clusterSize - 1),
    };
  }
  throw new RangeError(`no tree of depth < 12 holds ${listeners} listeners`);
}

export interface DepthFigures {
  readonly depth: number;
  readonly clusters: number;
  readonly listeners: number;
  /** Each listener's chunk loss ratio. */
  readonly lossRatio: Distribution;
  /** Ingest at the root to play-out, over every chunk played at this depth, ms. */
  readonly delayMs: Distribution;
}

export interface TreeRun {
  readonly parameters: TreeScenarioOptions;
  readonly plan: TreePlan;
  readonly depth: number;
  readonly listeners: number;
  /** Listeners that played in the measured window, and their loss (by stream content). */
  readonly lossRatio: Distribution;
  readonly listenersOverOnePercent: number;
  readonly perDepth: readonly DepthFigures[];
  /** Root's UDP payload bytes sent / stream bytes ingested, over the run and the window. */
  readonly rootUploadRatio: number;
  readonly rootUploadRatioMeasured: number;
  readonly rootMembers: number;
  /** The most members any source had at the end (every role): C when the tree holds. */
  readonly largestCluster: number;
  /** Listener start to its accept in the cluster it plays in (redirects included), ms. */
  readonly joinMs: Distribution;
  /** Listener start to its first chunk played, ms. */
  readonly startupMs: Distribution;
  /** Redirects followed per listener. */
  readonly redirects: Distribution;
  readonly neverPlayed: number;
  readonly crash: CrashFigures | null;
  readonly eventsProcessed: number;
  readonly datagramsDelivered: number;
}

export interface CrashFigures {
  readonly atMs: number;
  readonly source: string;
  /** Listeners of the crashed cluster (at the crash). */
  readonly listeners: number;
  /** Those playing again by the end, in a new membership. */
  readonly rejoined: number;
  /** From the crash to each one's first chunk played in its new membership, ms. */
  readonly resumeMs: Distribution;
  /**
   * Each one's longest silence between two chunks played, ms: shorter than `resumeMs` when
   * a late chunk of the old membership plays in between.
   */
  readonly gapMs: Distribution;
}

const SOURCE_PORT = 4552;
/** Fed members a parent has before a child's liberated peer joins it (one could be lost). */
const FEEDERS_BEFORE_LIBERATED = 2;
/**
 * Listeners for the places of depth d start d times this late: a child source takes no
 * redirected joiner before its stream flows (`CHILD_READY_CHUNKS`), and a level's feeds
 * start once the level above has members, so earlier joiners would find no room anywhere.
 */
export const TREE_WARMUP_MS = 4000;

/** A listener's plays, counted by stream content: a chunk its cluster never got is lost too. */
class Listener {
  node!: SimulatedNode;
  joinedAt: number | null = null;
  firstPlayAt: number | null = null;
  lastPlayAt: number | null = null;
  longestGapMs = 0;
  played = 0;
  /** The session it was in when its source crashed, and when a new one played. */
  crashedSession: unknown = null;
  resumedAt: number | null = null;
  firstIndex = -1;
  lastIndex = -1;
  constructor(readonly startedAt: number) {}
}

/** Runs a tree of clusters on the simulator: unmodified source and rejoining peer cores. */
export function runTreeScenario(
  partial: Partial<TreeScenarioOptions> & Pick<TreeScenarioOptions, 'listeners'>,
): TreeRun {
  const options: TreeScenarioOptions = { ...TREE_DEFAULTS, ...partial };
  const clusterSize = options.clusterSize;
  const bufferSize = options.bufferSize ?? 2 * clusterSize;
  const plan = planTree(options.listeners, clusterSize, options.childrenPerCluster);
  const durationMs = options.seconds * 1000;
  const measureFromMs =
    options.measureFromMs ??
    (plan.clustersPerDepth.length - 1) * TREE_WARMUP_MS + options.joinWindowMs + 10_000;
  const sim = new Simulator({ seed: options.seed });
  const accessLoss = 1 - Math.sqrt(1 - options.loss);
  const link = {
    uplink: { latencyMs: options.latencyMs / 2, loss: accessLoss },
    downlink: { latencyMs: options.latencyMs / 2, loss: accessLoss },
  };

  // Every source's children, planned up front: a child's host has a fixed address so that
  // its parent is configured with it (`tree.children`) before the child first reports.
  interface Planned {
    readonly name: string;
    readonly depth: number;
    readonly endpoint: Endpoint;
    readonly parent: Planned | null;
    readonly children: Planned[];
    node: SimulatedNode | null;
    liberated: SimulatedNode | null;
  }
  const rootPlan: Planned = {
    name: 'source',
    depth: 0,
    endpoint: { address: '198.51.100.1', port: SOURCE_PORT },
    parent: null,
    children: [],
    node: null,
    liberated: null,
  };
  const levels: Planned[][] = [[rootPlan]];
  for (let depth = 1; depth < plan.clustersPerDepth.length; depth++) {
    const parents = levels[depth - 1]!;
    const level: Planned[] = [];
    for (let index = 0; index < plan.clustersPerDepth[depth]!; index++) {
      const parent = parents[index % parents.length]!;
      const child: Planned = {
        name: `child-${depth}-${index}`,
        depth,
        // 100.64.0.0/10 (RFC 6598) for the children's hosts, apart from the simulator's own.
        endpoint: { address: `100.${64 + depth}.${index >> 8}.${index & 255}`, port: SOURCE_PORT },
        parent,
        children: [],
        node: null,
        liberated: null,
      };
      parent.children.push(child);
      level.push(child);
    }
    levels.push(level);
  }
  /** Depth of each source, by its join endpoint. */
  const depthOf = new Map<string, number>(
    levels.flat().map((planned) => [formatEndpoint(planned.endpoint), planned.depth]),
  );

  const startSource = (planned: Planned): SimulatedNode => {
    const parent = planned.parent;
    planned.node = sim.addNode({
      name: planned.name,
      address: planned.endpoint.address,
      udpPort: SOURCE_PORT,
      tcpListenPort: SOURCE_PORT,
      ...link,
      createCore: ({ random }) =>
        new SourceCore({
          random,
          chunkSize: options.chunkSize,
          bufferSize,
          // C members in all: the children's liberated feeds take places too.
          maxMembers: clusterSize - planned.children.length,
          // Every listener's join reaches the root first.
          joinsPerSecond: 1_000_000,
          tree: {
            children: planned.children.map((child) => child.endpoint),
            parent: parent === null ? null : { endpoint: parent.endpoint, joinPort: SOURCE_PORT },
          },
        }),
    });
    return planned.node;
  };

  const root = startSource(rootPlan);
  const generator = new StreamGenerator(sim, root, {
    bitrate: options.bitrate,
    pieceBytes: options.chunkSize,
    startAt: 0,
    stopAt: durationMs,
  });
  // Child sources take joins from the start; each one's feed, a liberated peer of its parent
  // on the same host whose played chunks are the source's ingest (the in-process hop of a
  // transmuted node), joins once the parent cluster has fed members to feed it (seed 000:
  // nobody else does).
  const pending: Planned[] = [];
  for (const planned of levels.slice(1).flat()) {
    startSource(planned);
    pending.push(planned);
  }
  const startFeed = (planned: Planned): void => {
    const child = planned.node!;
    planned.liberated = sim.addNode({
      name: `${planned.name}-liberated`,
      address: planned.endpoint.address,
      ...link,
      createCore: ({ random, endpoint }) =>
        new RejoiningPeerCore({
          source: planned.parent!.endpoint,
          random,
          role: 'liberated',
          privateEndpoint: endpoint,
        }),
      onOutput: (_node, output) => {
        if (output.type === 'play' && output.payload !== null) {
          sim.deliver(child, { type: 'ingest-data', bytes: output.payload });
        }
      },
    });
  };
  const startFeeds = (): void => {
    for (let index = 0; index < pending.length; ) {
      const planned = pending[index]!;
      const parent = planned.parent!.node!.core as SourceCore;
      if (parent.stats().fedMembers >= FEEDERS_BEFORE_LIBERATED) {
        pending.splice(index, 1);
        startFeed(planned);
      } else {
        index++;
      }
    }
    if (pending.length > 0) sim.schedule(sim.now + 100, startFeeds);
  };
  sim.schedule(0, startFeeds);

  const listeners: Listener[] = [];
  const delayByDepth = plan.clustersPerDepth.map(() => new MillisecondHistogram(60_000));
  const onListenerOutput =
    (listener: Listener) => (node: SimulatedNode, output: CoreOutput, now: number) => {
      if (output.type === 'event') {
        const event = output.event as PeerEvent;
        if (event.name === 'join-accept') listener.joinedAt ??= now;
        return;
      }
      if (output.type !== 'play' || output.payload === null) return;
      const payload = output.payload;
      listener.firstPlayAt ??= now;
      const core = node.core as RejoiningPeerCore;
      if (
        listener.crashedSession !== null &&
        listener.resumedAt === null &&
        core.session !== listener.crashedSession
      ) {
        listener.resumedAt = now;
      }
      if (now >= measureFromMs) {
        if (listener.lastPlayAt !== null) {
          listener.longestGapMs = Math.max(listener.longestGapMs, now - listener.lastPlayAt);
        }
        const offset = streamOffsetOf(payload);
        const index = Math.floor(offset / options.chunkSize);
        if (listener.firstIndex < 0) listener.firstIndex = index;
        listener.lastIndex = Math.max(listener.lastIndex, index);
        listener.played += 1;
        const depth = depthOf.get(formatEndpoint(core.session.config.source)) ?? 0;
        delayByDepth[depth]!.add(now - generator.ingestTimeOf(offset + payload.length - 1));
      }
      listener.lastPlayAt = now;
    };

  // Listener places level by level: a listener past the places of levels 0..d-1 starts
  // d warm-ups late, once level d's sources have their stream.
  const placesBefore: number[] = [];
  let places = 0;
  for (const level of levels) {
    placesBefore.push(places);
    for (const planned of level) places += clusterSize - planned.children.length;
  }
  for (let index = 0; index < options.listeners; index++) {
    const level = placesBefore.findLastIndex((before) => index >= before);
    const at = level * TREE_WARMUP_MS + (options.joinWindowMs * index) / options.listeners;
    sim.schedule(at, () => {
      const listener = new Listener(sim.now);
      listeners.push(listener);
      listener.node = sim.addNode({
        name: `listener-${index + 1}`,
        ...link,
        createCore: ({ random, endpoint }) =>
          new RejoiningPeerCore({
            source: root.endpoint,
            random,
            privateEndpoint: endpoint,
            ...(options.listenerSourceTimeoutMs === null
              ? {}
              : { sourceTimeoutMillis: options.listenerSourceTimeoutMs }),
          }),
        onOutput: onListenerOutput(listener),
      });
    });
  }

  let atMeasureStart = { sent: 0, ingested: 0 };
  sim.schedule(measureFromMs, () => {
    atMeasureStart = {
      sent: root.statistics.bytesSent,
      ingested: (root.core as SourceCore).stats().bytesIngested,
    };
  });

  /** The crashed source and the listeners it had, once the crash happened. */
  const crashed: { source: SimulatedNode | null; listeners: Listener[] } = {
    source: null,
    listeners: [],
  };
  const crash = options.crash;
  if (crash !== null) {
    const depth = crash.depth < 0 ? plan.clustersPerDepth.length + crash.depth : crash.depth;
    if (!(depth >= 1 && depth < plan.clustersPerDepth.length)) {
      throw new RangeError(
        `crash.depth must name a level of child sources, 1 to ${plan.clustersPerDepth.length - 1}`,
      );
    }
    sim.schedule(crash.atMs, () => {
      const planned = levels[depth]![0]!;
      const source = planned.node!;
      const key = formatEndpoint(source.endpoint);
      const victims = listeners.filter(
        (listener) =>
          listener.node.alive &&
          formatEndpoint((listener.node.core as RejoiningPeerCore).session.config.source) === key,
      );
      crashed.source = source;
      crashed.listeners = victims;
      for (const victim of victims) {
        victim.crashedSession = (victim.node.core as RejoiningPeerCore).session;
      }
      const end = crash.leave === true ? sim.stop.bind(sim) : sim.crash.bind(sim);
      end(source);
      if (planned.liberated !== null) end(planned.liberated);
    });
  }

  sim.runUntil(durationMs);

  const measured = listeners.filter((listener) => listener.played > 0);

  const lossOf = (listener: Listener) =>
    1 - listener.played / (listener.lastIndex - listener.firstIndex + 1);
  const crashedSet = new Set(crashed.listeners);
  const depthOfListener = (listener: Listener) =>
    depthOf.get(formatEndpoint((listener.node.core as RejoiningPeerCore).session.config.source)) ??
    0;
  const unaffected = measured.filter((listener) => !crashedSet.has(listener));
  const perDepth = plan.clustersPerDepth.map((clusters, depth) => {
    const here = unaffected.filter((listener) => depthOfListener(listener) === depth);
    return {
      depth,
      clusters,
      listeners: here.length,
      lossRatio: distribution(here.map(lossOf)),
      delayMs: delayByDepth[depth]!.distribution(),
    };
  });
  const rootCore = root.core as SourceCore;
  const ingested = rootCore.stats().bytesIngested;
  let crashFigures: CrashFigures | null = null;
  if (crashed.source !== null && crash !== null) {
    const victims = crashed.listeners;
    const back = victims.filter((listener) => listener.resumedAt !== null);
    crashFigures = {
      atMs: crash.atMs,
      source: crashed.source.name,
      listeners: victims.length,
      rejoined: back.length,
      resumeMs: distribution(back.map((listener) => listener.resumedAt! - crash.atMs)),
      gapMs: distribution(back.map((listener) => listener.longestGapMs)),
    };
  }
  return {
    parameters: options,
    plan,
    depth: plan.clustersPerDepth.length - 1,
    listeners: listeners.length,
    lossRatio: distribution(unaffected.map(lossOf)),
    listenersOverOnePercent: unaffected.filter((listener) => lossOf(listener) > 0.01).length,
    perDepth,
    rootUploadRatio: ingested === 0 ? 0 : root.statistics.bytesSent / ingested,
    rootUploadRatioMeasured:
      ingested === atMeasureStart.ingested
        ? 0
        : (root.statistics.bytesSent - atMeasureStart.sent) / (ingested - atMeasureStart.ingested),
    rootMembers: rootCore.stats().members,
    largestCluster: Math.max(
      ...levels.flat().map((planned) => (planned.node!.core as SourceCore).stats().members),
    ),
    joinMs: distribution(
      listeners.flatMap((listener) =>
        listener.joinedAt === null ? [] : [listener.joinedAt - listener.startedAt],
      ),
    ),
    startupMs: distribution(
      listeners.flatMap((listener) =>
        listener.firstPlayAt === null ? [] : [listener.firstPlayAt - listener.startedAt],
      ),
    ),
    redirects: distribution(
      listeners.map(
        (listener) => (listener.node.core as RejoiningPeerCore).stats().path.length - 1,
      ),
    ),
    neverPlayed: listeners.filter((listener) => listener.firstPlayAt === null).length,
    crash: crashFigures,
    eventsProcessed: sim.eventsProcessed,
    datagramsDelivered: sim.datagramsDelivered,
  };
}
