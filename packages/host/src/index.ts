export {
  CoreDriver,
  type CoreDriverOptions,
  type DrivenCore,
  monotonicNow,
} from './core-driver.js';
export {
  createVerifier,
  type Ed25519Signer,
  generateSigner,
  privateKeyPem,
  signerFromPem,
} from './ed25519.js';
export {
  lookupEndpoint,
  type ParsedEndpoint,
  type ParseEndpointOptions,
  parseEndpoint,
  parsePort,
} from './endpoint-text.js';
export { EndpointSyntaxError, HOST_ERROR_CODES, type HostErrorCode } from './errors.js';
export {
  type LabelledValues,
  METRICS_PREFIX,
  type MetricsHistogram,
  NodeMetrics,
  type StatMetric,
} from './metrics.js';
export {
  type HostBinding,
  type HostCounters,
  type HostLogger,
  type NodeHost,
  type NodeHostOptions,
  startNodeHost,
} from './node-host.js';
export {
  explainListenError,
  type ListenErrorClass,
  type ListenErrorCode,
  type ListenErrorWords,
  RuntimeShutdown,
} from './runtime-lifecycle.js';
export { sha256 } from './sha256.js';
export {
  bindUdp,
  closeQuietly,
  errorCode,
  listenTcp,
  sendQuietly,
} from './sockets.js';
