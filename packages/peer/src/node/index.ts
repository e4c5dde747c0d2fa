export { PeerRuntimeError, type PeerRuntimeErrorCode } from './errors.js';
export { type PeerHandle, type PeerOptions, type PeerStatus, startPeer } from './start-peer.js';
