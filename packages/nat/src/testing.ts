/**
 * For simulators and tests of NAT traversal: a model of a NAT box. The network that routes
 * datagrams through it, and the tests that run discovery and punching there, are
 * tooling/netsim's.
 */
export {
  type KnownNatBehaviour,
  type KnownPortAllocation,
  NAT_BOX_PRESETS,
  NatBox,
  type NatBoxBehaviour,
  type NatBoxOptions,
  type NatBoxType,
  type NatMapping,
} from './nat-box.js';
