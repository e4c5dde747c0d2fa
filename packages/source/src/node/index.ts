export { IcyMetadataStripper } from '@p2psp/media';
export { SourceRuntimeError, type SourceRuntimeErrorCode } from './errors.js';
export type { IngestState } from './fallback.js';
export type { IcecastStreamInfo } from './icecast-source-protocol.js';
export type { OpenedIngest } from './ingest.js';
export { createInProcessIngest, type InProcessInput } from './ingest-in-process.js';
export {
  type ListenSource,
  openPushIngest,
  type PushIngest,
  type PushIngestOptions,
  parseListenSource,
} from './ingest-push.js';
export { SourceMetrics } from './metrics.js';
export {
  DEFAULT_SOURCE_PORT,
  type SourceHandle,
  type SourceOptions,
  type SourceStatus,
  startSource,
} from './start-source.js';
