/** Test doubles for code that uses @p2psp/nat: a fake NAT, a virtual-time network, runners. */

export {
  bindFakeStunServer,
  FAKE_STUN_ALTERNATE_ADDRESS,
  FAKE_STUN_ALTERNATE_PORT,
  FAKE_STUN_PRIMARY,
  type FakeDiscoveryOptions,
  type FakeDiscoveryRun,
  runFakeDiscovery,
} from './fake-discovery.js';
export {
  FAKE_NAT_PRESETS,
  type FakeAllocation,
  type FakeBehaviour,
  FakeNat,
  type FakeNatBehaviour,
  type FakeNatOptions,
  FakeNetwork,
  type FakeNetworkOptions,
  type FakePacket,
  type FakeReceiver,
  type FakeTimerParticipant,
} from './fake-nat.js';
export {
  FAKE_RENDEZVOUS,
  type FakePunchOptions,
  type FakePunchRun,
  type FakePunchSide,
  runFakePunch,
} from './fake-punch.js';
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
