/**
 * The Node adapters of @p2psp/nat (`@p2psp/nat/node`): the sans-IO STUN and NAT cores of
 * the root on real UDP sockets, driven by `@p2psp/host`'s `CoreDriver`.
 */
export { type DetectNatOptions, detectNat } from './detect-nat.js';
export { type PunchHoleOptions, type PunchHoleResult, punchHole } from './punch-node.js';
export { cryptoRandom, resolveEndpoint } from './runtime.js';
export {
  type RunningStunServer,
  type StartStunServerOptions,
  startStunServer,
} from './stun-server-node.js';
export { UdpStunClient, type UdpStunClientOptions } from './udp-stun-client.js';
