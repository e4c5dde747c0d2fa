/**
 * Test helpers for cores (`@p2psp/peer/testing`): a small in-memory network on a virtual
 * clock that wires a SourceCore and PeerCores together, for unit tests and core benchmarks.
 * The full simulator (links, NATs, churn) is tooling/netsim.
 */
export {
  InMemoryNetwork,
  type NetworkOptions,
  type NodeRecord,
  scheduleIngest,
  streamBytes,
} from './testing/in-memory-network.js';
