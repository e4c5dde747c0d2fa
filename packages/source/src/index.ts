export { ChunkSigning, type ChunkSigningCrypto } from './core/chunk-signing.js';
export {
  SOURCE_ERROR_CODES,
  SourceConfigError,
  type SourceErrorCode,
  type SourceRuntimeErrorCode,
} from './core/errors.js';
export {
  MIN_CHUNK_SIZE,
  SOURCE_DEFAULTS,
  type SourceConfig,
  type StreamHeaderSplitter,
} from './core/source-config.js';
export { SourceCore } from './core/source-core.js';
export type { SourceEvent, SourceEventName } from './core/source-events.js';
export {
  SOURCE_DROP_REASONS,
  type SourceCounters,
  type SourceDropReason,
  type SourceMemberView,
  type SourceStats,
} from './core/source-types.js';
