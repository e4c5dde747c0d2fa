export {
  type BridgeLogger,
  type IcecastBridge,
  type IcecastBridgeOptions,
  type IcecastBridgeStatus,
  reconnectDelay,
  startIcecastBridge,
} from './bridge.js';
export { BRIDGE_ERROR_CODES, BridgeError, type BridgeErrorCode } from './errors.js';
export {
  type IcecastStreamDetails,
  openIcecastMount,
  type SourceMethod,
} from './icecast-source-client.js';
export {
  ICECAST_DEFAULT_PORT,
  type IcecastTarget,
  parseIcecastTarget,
  parsePlayerUrl,
} from './urls.js';
