export {
  type AdmissionDecision,
  type AdmissionPolicy,
  type AdmissionReason,
  type AdmissionRequest,
  type AdmissionState,
  admit,
  DEFAULT_ADMISSION_POLICY,
  externalCapacity,
} from './admission.js';
export { type ChunkClaim, ChunkDestinations } from './chunk-destinations.js';
export {
  ChunkScheduler,
  type ChunkSchedulerOptions,
  type SchedulingPolicy,
  WeightedRoundRobin,
} from './chunk-scheduler.js';
export {
  COMPLAINT_IGNORED_REASONS,
  type Complaint,
  type ComplaintContext,
  type ComplaintIgnoredReason,
  type ComplaintKeying,
  ComplaintLedger,
  type ComplaintLedgerOptions,
  type ComplaintOutcome,
  type ComplaintWindow,
  DEFAULT_COMPLAINT_THRESHOLD,
  DEFAULT_COMPLAINT_THRESHOLD_MILLIS,
  DEFAULT_COMPLAINT_WINDOW,
  DEFAULT_EXEMPT_ROLES,
  type LedgerPosition,
  recommendedChunkWindow,
} from './complaint-ledger.js';
export {
  DEFAULT_DEBT_THRESHOLD,
  type DebtCharge,
  DebtCounters,
  type DebtCountersOptions,
} from './debt-counters.js';
export {
  CLUSTER_ERROR_CODES,
  ClusterError,
  type ClusterErrorCode,
} from './errors.js';
export { chooseExpulsions, type Expulsion } from './expulsion.js';
export {
  type Heard,
  type LivenessTimeoutOptions,
  livenessTimeout,
  nextLivenessDeadline,
  silentMembers,
} from './liveness.js';
export { LostChunkRecovery, type RecoveryOutcome } from './lost-chunk-recovery.js';
export {
  flagsOfRole,
  isFedBySource,
  MEMBER_ROLES,
  type Member,
  type MemberRemoval,
  type MemberRole,
  MembershipTable,
  type MembershipTableOptions,
  type NewMember,
  type RemovalReason,
  roleOfFlags,
  toMemberInfo,
} from './membership.js';
export {
  NeighbourAccounting,
  type NeighbourAccountingOptions,
  type NeighbourDrop,
  type NeighbourDropReason,
} from './neighbour-accounting.js';
export {
  type SilenceReportOptions,
  SilenceReports,
  type SilenceVerdict,
} from './silence-reports.js';
export {
  type ActivateOutcome,
  type LostChunkOutcome,
  type MemberSilentOutcome,
  type RecoveryResend,
  SourceCluster,
  type SourceClusterOptions,
  type SourceJoinOutcome,
  type SourceJoinRequest,
} from './source-cluster.js';
