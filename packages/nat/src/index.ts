export {
  HolePunchCore,
  type HolePunchErrorCode,
  type HolePunchOptions,
  type HolePunchOutput,
  type HolePunchResult,
  MAX_PREDICTED_PORTS,
  punchCandidates,
} from './hole-punch.js';
export { classifyNat, type NatBehaviour, type NatBehaviours } from './nat-classification.js';
export {
  DEFAULT_DISCOVERY_RETRANSMISSION,
  type FilteringTest,
  type MappingObservation,
  NatDiscoveryCore,
  type NatDiscoveryOptions,
  type NatDiscoveryOutput,
  type NatDiscoveryResult,
} from './nat-discovery.js';
export { NAT_ERROR_CODES, NatError, type NatErrorCode } from './nat-error.js';
export {
  analysePortAllocation,
  greatestCommonDivisor,
  type PortAllocation,
  type PortAllocationAnalysis,
  type PortSample,
  sequentialStep,
} from './port-allocation.js';
export { PUNCH_TABLE_TYPES, type PunchFeasibility, punchFeasibility } from './punch-feasibility.js';
export {
  DEFAULT_STUN_RETRANSMISSION,
  StunClientCore,
  type StunClientOptions,
  type StunClientOutput,
  type StunRequest,
  type StunRetransmissionOptions,
  type StunTransactionResult,
} from './stun-client.js';
export {
  type DecodedStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  findStunAttribute,
  isStunDatagram,
  mappedEndpointOf,
  STUN_MAGIC_COOKIE,
  STUN_METHOD_BINDING,
  type StunAttribute,
  StunAttributeType,
  type StunClass,
  type StunDecodeErrorCode,
  type StunDecodeResult,
  type StunEncodeOptions,
  type StunMessage,
} from './stun-message.js';
export {
  answerStunDatagram,
  type StunServerConfig,
  StunServerCore,
  type StunServerCounters,
  type StunServerReply,
} from './stun-server.js';
