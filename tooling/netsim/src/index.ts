// The one NAT model: pure, in @p2psp/nat, routed through by the simulator.
export {
  NAT_BOX_PRESETS,
  NatBox,
  type NatBoxOptions,
  type NatBoxType,
  type NatMapping,
} from '@p2psp/nat/testing';
export {
  CLUSTER_DEFAULTS,
  type ClusterHealth,
  type ClusterRun,
  type ClusterScenarioOptions,
  type ClusterSummary,
  type ComplaintKeying,
  type CrashReport,
  type Expulsion,
  memberTimeoutMillis,
  type PeerReport,
  runClusterScenario,
  ScenarioOptionError,
  type SilentDrop,
  validateClusterOptions,
} from './cluster-scenario.js';
export { addRecordedNode, CoreRecorder, type RecordedNodeOptions } from './core-recorder.js';
export { EventQueue } from './event-queue.js';
export { type ForwardingLoadOptions, forwardingLoad } from './forwarding-load.js';
export {
  burstLinkModel,
  type GilbertElliottModel,
  type LinkModel,
  LinkState,
  linkModel,
  PERFECT_LINK,
} from './link-model.js';
export { simulatedSigner, simulatedVerifier } from './simulated-signing.js';
export {
  type DropReason,
  deriveSeed,
  type NodeContext,
  type NodeOptions,
  type NodeStatistics,
  SimulatedNode,
  Simulator,
  type SimulatorOptions,
  TCP_IP_OVERHEAD_BYTES,
  type TraceRecord,
  UDP_IP_OVERHEAD_BYTES,
} from './simulator.js';
export { type Distribution, distribution, MillisecondHistogram } from './statistics.js';
export { fillStreamBytes, RECORD_BYTES, streamOffsetOf } from './stream-content.js';
export { StreamGenerator, type StreamGeneratorOptions } from './stream-generator.js';
export {
  type CrashFigures,
  type DepthFigures,
  planTree,
  runTreeScenario,
  TREE_DEFAULTS,
  TREE_WARMUP_MS,
  type TreePlan,
  type TreeRun,
  type TreeScenarioOptions,
} from './tree-scenario.js';
