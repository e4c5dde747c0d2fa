export type { RepairStats } from './core/chunk-repair.js';
export {
  PEER_ERROR_CODES,
  PeerConfigError,
  type PeerErrorCode,
  type PeerRuntimeErrorCode,
} from './core/errors.js';
export {
  PEER_DEFAULTS,
  type PeerConfig,
  PLAYOUT_DELAY_MIN_CHUNKS,
  type PlayoutDelay,
  playoutDelayFor,
} from './core/peer-config.js';
export { PeerCore } from './core/peer-core.js';
export type { NeighbourVia, PeerEvent, PeerEventName } from './core/peer-events.js';
export {
  type NeighbourView,
  PEER_DROP_REASONS,
  type PeerCounters,
  type PeerDropReason,
  type PeerRole,
  type PeerState,
  type PeerStats,
} from './core/peer-types.js';
export {
  REJOIN_DEFAULTS,
  type RejoinDecision,
  type RejoinOptions,
  RejoinPolicy,
  resolveRejoinOptions,
} from './core/rejoin-policy.js';
export {
  REJOIN_SOURCE_TIMEOUT_MILLIS,
  RejoiningPeerCore,
  type RejoiningPeerState,
  type RejoiningPeerStats,
  type RejoinView,
  type SessionEnd,
} from './core/rejoining-peer-core.js';
