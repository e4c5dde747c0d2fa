export { type IcecastMount, icecastStatusJson } from '../players/icecast-status.js';

export {
  PLAYER_DROP_REASONS,
  type PlayerDropReason,
  type StreamTap,
} from '../players/player-fan-out.js';
export { PLAYER_SERVER_DEFAULTS } from '../players/player-server.js';
export { PeerRuntimeError, type PeerRuntimeErrorCode } from './errors.js';
export { type PeerHandle, type PeerOptions, type PeerStatus, startPeer } from './start-peer.js';
