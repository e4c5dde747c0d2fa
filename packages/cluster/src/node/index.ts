export {
  type HostBinding,
  type HostCounters,
  type HostLogger,
  type NodeHost,
  type NodeHostOptions,
  startNodeHost,
} from './node-host.js';
export {
  EndpointSyntaxError,
  type ParsedEndpoint,
  parseEndpoint,
  parsePort,
} from './parse-endpoint.js';
