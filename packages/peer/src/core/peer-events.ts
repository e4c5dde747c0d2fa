import type {
  CoreEvent,
  CoreInput,
  DatagramDropEvent,
  GoodbyeReason,
  MemberId,
  RefusedReason,
} from '@p2psp/wire';
import type { PeerErrorCode } from './errors.js';

// Every event the peer reports, one member of the union per name (noun-verb). Consumers
// (start-peer's logger, netsim, the CLI) switch on `name` and read typed fields; endpoints
// are formatted `HOST:PORT` text for logs, the member id is the key to match on.

/** A driver fed the peer an input only a source takes (misconfigured, not attacked). */
export type InputIgnoreEvent = CoreEvent<
  'input-ignore',
  { type: Extract<CoreInput['type'], `ingest-${string}`> }
>;

/** The peer stops on an error: join timeout or failure, hello timeout, source silent. */
export type PeerFailEvent = CoreEvent<'peer-fail', { code: PeerErrorCode; message: string }>;

/** Rule 4: the source refused our join. */
export type JoinRefuseEvent = CoreEvent<
  'join-refuse',
  {
    code: 'P2PSP_ERR_JOIN_REFUSED';
    reason: RefusedReason;
    message: string;
    redirect: string | null;
  }
>;

/** Rule 4: the source accepted our join; the settings this peer plays with. */
export type JoinAcceptEvent = CoreEvent<
  'join-accept',
  {
    memberId: MemberId;
    source: string;
    observedEndpoint: string;
    members: number;
    chunkSize: number;
    bufferSize: number;
    chunkIntervalMillis: number;
    playoutDelayChunks: number;
    monitor: boolean;
  }
>;

/**
 * The play-out delay differs from the option: `playoutDelayChunks` did not fit the source's
 * buffer (warn), or `playoutDelayMillis` was recomputed from the measured chunk interval
 * before playing (info, with the `previous` delay in chunks).
 */
export type ConfigAdjustEvent = CoreEvent<
  'config-adjust',
  | { option: 'playoutDelayChunks'; requested: number; used: number; why: string }
  | { option: 'playoutDelayMillis'; requested: number; used: number; previous: number; why: string }
>;

/** The source answered our first hello: it has us in its list. */
export type HelloAckEvent = CoreEvent<'hello-ack', { from: string }>;

/** Rule 6: the source said the stream ended; the buffer plays out after `drainMillis`. */
export type StreamEndEvent = CoreEvent<
  'stream-end',
  { reason: GoodbyeReason; drainMillis: number }
>;

/** The source removed us from the cluster (rule 8, or a liveness timeout). */
export type PeerExpelEvent = CoreEvent<'peer-expel', { reason: GoodbyeReason }>;

/**
 * Rule 5: the buffer starts again at `chunkNumber`: before play-out, a source chunk beyond
 * the window; while playing, a source chunk too far ahead to play the gap (`skippedChunks`
 * counted lost).
 */
export type BufferResyncEvent = CoreEvent<
  'buffer-resync',
  { chunkNumber: number } | { chunkNumber: number; skippedChunks: number }
>;

/** Rule 5: the play-out delay is buffered; play-out starts at `chunkNumber`. */
export type PlayStartEvent = CoreEvent<
  'play-start',
  { chunkNumber: number; bufferedChunks: number }
>;

/** Rule 5: a chunk missing at its play time, played as null (`lost`: the count so far). */
export type ChunkLostEvent = CoreEvent<'chunk-lost', { chunkNumber: number; lost: number }>;

/** How a neighbour was learnt (rule 4): the accept's list, its hello, its chunk, a punched ack. */
export type NeighbourVia = 'list' | 'hello' | 'chunk' | 'hello-ack' | 'credential';

export type NeighbourAddEvent = CoreEvent<
  'neighbour-add',
  { memberId: MemberId; endpoint: string; via: NeighbourVia; verified: boolean; neighbours: number }
>;

/** A neighbour known at another endpoint moved (it never answered at the first one). */
export type NeighbourMoveEvent = CoreEvent<
  'neighbour-move',
  { memberId: MemberId; endpoint: string; via: NeighbourVia }
>;

/**
 * A neighbour dropped without a goodbye: never verified at its address (debug), silent for
 * `chunkTimes` of the stream clock (rule 6), or past the debt threshold (rule 7). A silent or
 * indebted one may come back by relaying again.
 */
export type NeighbourDropEvent = CoreEvent<
  'neighbour-drop',
  | { memberId: MemberId; endpoint: string; reason: 'unverified' }
  | { memberId: MemberId; endpoint: string; reason: 'silent'; chunkTimes: number | null }
  | { memberId: MemberId; endpoint: string; reason: 'debt'; debt: number; threshold: number }
>;

/** A neighbour left: its goodbye, or the source said it was removed (rule 6). */
export type PeerLeaveEvent = CoreEvent<
  'peer-leave',
  { memberId: MemberId; endpoint: string; reason: GoodbyeReason; neighbours: number }
>;

/**
 * As an external (seed 000): fed members we heard nothing from for a few rounds of the
 * source (`missing`, sent our onboarding chunk again), or our loss passed the threshold
 * (`lossy`): we asked for the peer list.
 */
export type ExternalReonboardEvent = CoreEvent<
  'external-reonboard',
  { missing: string; lossy: boolean }
>;

/**
 * The source removed us (`P2PSP_ERR_REMOVED`) or fell silent, or the last rejoin attempt
 * failed (`lastFailure`): attempt `attempt` joins again after `delayMillis`.
 */
export type RejoinWaitEvent = CoreEvent<
  'rejoin-wait',
  {
    code: PeerErrorCode;
    cause: string;
    attempt: number;
    delayMillis: number;
    lastFailure: string | null;
  }
>;

/** Joined again: the source's first chunk reached the new session, `gapMillis` after the old one ended. */
export type RejoinDoneEvent = CoreEvent<
  'rejoin-done',
  { memberId: MemberId; attempts: number; gapMillis: number }
>;

/**
 * The peer leaves its cluster and joins it again in another role (a peer turning liberated
 * to feed a private cluster, and back): a rejoin with no backoff, `rejoin-done` follows.
 */
export type RoleChangeEvent = CoreEvent<
  'role-change',
  { from: 'peer' | 'monitor' | 'liberated'; to: 'peer' | 'liberated' }
>;

/** A full source sent us to a child source (trees of clusters); `hops` so far. */
export type JoinRedirectEvent = CoreEvent<
  'join-redirect',
  { from: string; to: string; hops: number }
>;

export type PeerEvent =
  | InputIgnoreEvent
  | PeerFailEvent
  | JoinRefuseEvent
  | JoinAcceptEvent
  | ConfigAdjustEvent
  | HelloAckEvent
  | StreamEndEvent
  | PeerExpelEvent
  | BufferResyncEvent
  | PlayStartEvent
  | ChunkLostEvent
  | NeighbourAddEvent
  | NeighbourMoveEvent
  | NeighbourDropEvent
  | PeerLeaveEvent
  | ExternalReonboardEvent
  | RejoinWaitEvent
  | RejoinDoneEvent
  | JoinRedirectEvent
  | RoleChangeEvent
  | DatagramDropEvent;

export type PeerEventName = PeerEvent['name'];
