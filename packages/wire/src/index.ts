export { type Endpoint, formatEndpoint, sameEndpoint } from './endpoint.js';
export * from './messages.js';
export { createRandom } from './random.js';
export type {
  ConnectionId,
  CoreEvent,
  CoreInput,
  CoreOutput,
  Instant,
  Random,
  SansIoCore,
} from './sans-io.js';
