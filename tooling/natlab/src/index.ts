export { type AgentName, agentScript } from './agents.js';
export {
  LabCluster,
  type LabPeerStatus,
  type LabSourceMember,
  type PairResult,
  type PlayerResult,
  runPair,
} from './cluster-run.js';
export {
  type CommandResult,
  LabProcess,
  NATLAB_ERROR_CODES,
  NatLabError,
  type NatLabErrorCode,
} from './commands.js';
export {
  type Behaviour,
  type CoturnDiscovery,
  type CoturnServer,
  parseNatDiscovery,
  runNatDiscovery,
  STUN_ALTERNATE_PORT,
  STUN_PORT,
  startCoturn,
} from './coturn.js';
export {
  cleanupStaleLabs,
  createLab,
  type Impairment,
  type Lab,
  type LabOptions,
  type RunOptions,
} from './lab.js';
export {
  type DetectOptions,
  detectNat,
  OUR_STUN_ALTERNATE_PORT,
  OUR_STUN_PORT,
  type OurStunServer,
  startOurStunServer,
} from './nat-agents.js';
export {
  NAT_TYPES,
  type NatRulesOptions,
  type NatType,
  natRules,
  sequentialPort,
} from './nat-rules.js';
export {
  type MatrixCell,
  matrixMarkdown,
  median,
  type PairRun,
  PunchHosts,
  punchCell,
  type SideResult,
} from './punch-matrix.js';
export { ROLES, type Role, SITE_NAMES, type SiteAddresses, type SiteName } from './topology.js';
