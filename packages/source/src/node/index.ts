export { SourceRuntimeError, type SourceRuntimeErrorCode } from './errors.js';
export { IcyMetadataStripper } from './icy-metadata.js';
export {
  DEFAULT_SOURCE_PORT,
  type SourceHandle,
  type SourceOptions,
  type SourceStatus,
  startSource,
} from './start-source.js';
