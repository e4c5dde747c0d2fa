import type { MemberId } from '@p2psp/wire';
import type { ComplaintLedger, LedgerPosition } from './complaint-ledger.js';
import type { MembershipTable } from './membership.js';

/** A member the source should expel, and why. */
export interface Expulsion {
  readonly memberId: MemberId;
  /** The ledger key that went past the threshold (shared by every member behind one IP). */
  readonly key: string;
  /** Complaints against the key in the window. */
  readonly complaints: number;
  readonly reason: 'expelled';
}

/**
 * The members past the complaint threshold (rule 8), in join order. Members of the ledger's
 * exempt roles are never chosen (by default monitors, trusted, and external and liberated
 * peers, never complained about, seed 000).
 * With IP keying every member behind an over-threshold address is returned: the documented
 * cost of catching a free rider behind a symmetric NAT. The caller removes them with reason
 * `expelled`, sends each a goodbye saying so, and tells the cluster.
 */
export function chooseExpulsions(
  ledger: ComplaintLedger,
  members: MembershipTable,
  position: LedgerPosition,
): readonly Expulsion[] {
  const expulsions: Expulsion[] = [];
  const counts = new Map<string, number>();
  const threshold = ledger.thresholdAt(position);
  for (const member of members) {
    if (ledger.isExempt(member.role)) continue;
    const key = ledger.keyOf(member);
    let complaints = counts.get(key);
    if (complaints === undefined) {
      complaints = ledger.count(key, position);
      counts.set(key, complaints);
    }
    if (complaints > threshold) {
      expulsions.push({ memberId: member.memberId, key, complaints, reason: 'expelled' });
    }
  }
  return expulsions;
}
