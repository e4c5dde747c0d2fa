// The backoff of its reconnects (one for every p2psp client that reconnects).
export { reconnectDelay } from '@p2psp/wire';
export {
  type BridgeLogger,
  type IcecastBridge,
  type IcecastBridgeOptions,
  type IcecastBridgeStatus,
  startIcecastBridge,
} from './bridge.js';
export { BRIDGE_ERROR_CODES, BridgeError, type BridgeErrorCode } from './errors.js';
export {
  type IcecastStreamDetails,
  openIcecastMount,
  type SourceMethod,
  setIcecastTitle,
} from './icecast-source-client.js';
export {
  ICECAST_DEFAULT_PORT,
  type IcecastTarget,
  parseIcecastTarget,
  parsePlayerUrl,
} from './urls.js';
