import { NAT_TYPES, type NatType } from '@p2psp/wire';

/**
 * Which NAT type pairs hole punching can open, in theory (README "Impossible pairs").
 *
 * A datagram from A reaches B when B's NAT has a mapping on the port A aims at and B's
 * filter admits A's public source. Cone NATs (endpoint-independent mapping) keep one known
 * public endpoint; sequential and preserving symmetric NATs open a new but predictable port
 * per destination (P2PSP NTS predicts it); a random symmetric NAT opens a port nobody can
 * predict. So with a random symmetric NAT on one side, the other side must accept a
 * datagram from an unknown port of a known address: only open hosts, full cones and
 * (address-)restricted cones do. Port-restricted cones and symmetric NATs filter on the
 * exact port they sent to, which they cannot know: impossible (P2PSP measured the same).
 */

export type PunchFeasibility =
  | { readonly possible: true; readonly predictLocal: boolean; readonly predictRemote: boolean }
  | { readonly possible: false; readonly reason: string };

const ACCEPTS_UNKNOWN_PORT: ReadonlySet<NatType> = new Set([
  'open',
  'full-cone',
  'restricted-cone',
]);
const PREDICTABLE: ReadonlySet<NatType> = new Set(['symmetric-sequential', 'symmetric-preserving']);

export function punchFeasibility(local: NatType, remote: NatType): PunchFeasibility {
  if (local === 'udp-blocked') {
    return { possible: false, reason: 'UDP is blocked on the local side' };
  }
  if (remote === 'udp-blocked') {
    return { possible: false, reason: 'UDP is blocked on the remote side' };
  }
  const random = (type: NatType) => type === 'symmetric-random';
  // 'unknown' is tried: better a bounded attempt than a refusal without evidence.
  const excludes = (randomSide: NatType, otherSide: NatType) =>
    random(randomSide) && otherSide !== 'unknown' && !ACCEPTS_UNKNOWN_PORT.has(otherSide);
  if (excludes(local, remote) || excludes(remote, local)) {
    const [randomSide, otherSide, other] = random(local)
      ? (['local', 'remote', remote] as const)
      : (['remote', 'local', local] as const);
    return {
      possible: false,
      reason: `the ${randomSide} NAT is symmetric with random ports, so its public port towards the ${otherSide} side cannot be predicted, and the ${otherSide} NAT (${other}) only admits datagrams from the exact port it sent to`,
    };
  }
  return {
    possible: true,
    predictLocal: PREDICTABLE.has(local),
    predictRemote: PREDICTABLE.has(remote),
  };
}

/** All types a pair table covers, in table order: every NAT type but `unknown`. */
export const PUNCH_TABLE_TYPES: readonly NatType[] = NAT_TYPES.filter((type) => type !== 'unknown');
