import type { Instant, MemberId } from '@p2psp/wire';
import { checkInteger, checkNumber } from './errors.js';

export interface SilenceReportOptions {
  /**
   * Distinct members whose reports make a member suspect. Default 2: one member that lies,
   * or whose own path to the accused broke, is never enough. Raised to a tenth of the
   * members that could report in a large cluster, lowered to their number in a tiny one.
   */
  readonly quorum?: number;
  /** How long a report counts, ms. Default 3000 (peers repeat theirs every relay round). */
  readonly windowMillis?: number;
  /**
   * Silence from the suspect at the source before it stops feeding it, ms. Default 1000:
   * half of the peers' 2 s stats-report period.
   */
  readonly skipAfterMillis?: number;
  /**
   * Silence from the suspect at the source before it is removed, ms. Default 5000: two of
   * its 2 s stats reports missed, and a second to spare.
   */
  readonly removeAfterMillis?: number;
}

/**
 * Distinct reporters needed when `others` members could report: `quorum`, or a tenth of them
 * in a large cluster (where a crashed member's silence reaches every neighbour, while lost
 * relays make a few honest reports about live members), never more than there are.
 */
function quorumOf(quorum: number, others: number): number {
  return Math.max(1, Math.min(others, Math.max(quorum, Math.ceil(others / 10))));
}

/** What the source does about a member after a report. */
export type SilenceVerdict =
  | { readonly kind: 'noted'; readonly reporters: number }
  | { readonly kind: 'skip'; readonly reporters: number }
  | { readonly kind: 'remove'; readonly reporters: number };

/**
 * Members' reports that a neighbour went silent (`member-silent`), and what the source makes
 * of them. A report is a hint: the verdict also needs the source's own silence from the
 * accused, which a reporter cannot fake. An honest member sends the source its stats report
 * every 2 s, so whatever members claim about it, it is never silent at the source for
 * `removeAfterMillis` unless two reports in a row were lost, and it is fed again the moment
 * the source hears from it.
 */
export class SilenceReports {
  readonly quorum: number;
  readonly windowMillis: number;
  readonly skipAfterMillis: number;
  readonly removeAfterMillis: number;
  /** Accused -> reporter -> when its latest report arrived. */
  readonly #reports = new Map<MemberId, Map<MemberId, Instant>>();
  /** Members fed again after a skip -> until when reports about them are ignored. */
  readonly #resumedUntil = new Map<MemberId, Instant>();

  constructor(options: SilenceReportOptions = {}) {
    this.quorum = checkInteger('quorum', options.quorum ?? 2, 1, 1 << 16);
    this.windowMillis = checkNumber('windowMillis', options.windowMillis ?? 3000, 0, 2 ** 31);
    this.skipAfterMillis = checkNumber(
      'skipAfterMillis',
      options.skipAfterMillis ?? 1000,
      0,
      2 ** 31,
    );
    this.removeAfterMillis = checkNumber(
      'removeAfterMillis',
      options.removeAfterMillis ?? 5000,
      this.skipAfterMillis,
      2 ** 31,
    );
  }

  /**
   * `reporter` stopped hearing `accused`, which the source last heard at `lastHeardAt`;
   * `others` members besides the accused could report. Never throws on network input.
   */
  report(
    reporter: MemberId,
    accused: MemberId,
    lastHeardAt: Instant,
    others: number,
    now: Instant,
  ): SilenceVerdict {
    const resumedUntil = this.#resumedUntil.get(accused);
    if (resumedUntil !== undefined) {
      if (now < resumedUntil) return { kind: 'noted', reporters: 0 };
      this.#resumedUntil.delete(accused);
    }
    let reporters = this.#reports.get(accused);
    if (reporters === undefined) {
      reporters = new Map();
      this.#reports.set(accused, reporters);
    }
    reporters.set(reporter, now);
    for (const [id, at] of reporters) {
      if (now - at > this.windowMillis) reporters.delete(id);
    }
    const count = reporters.size;
    if (count < quorumOf(this.quorum, others)) return { kind: 'noted', reporters: count };
    const silence = now - lastHeardAt;
    if (silence >= this.removeAfterMillis) return { kind: 'remove', reporters: count };
    if (silence >= this.skipAfterMillis) return { kind: 'skip', reporters: count };
    return { kind: 'noted', reporters: count };
  }

  /** The source heard from `memberId`: reports about it so far are void. */
  clear(memberId: MemberId): void {
    this.#reports.delete(memberId);
  }

  /**
   * A skipped member was heard and is fed again. Unfed, it relayed nothing, so its
   * neighbours kept reporting it until its relays reach them again: such reports are
   * ignored for `windowMillis`, or a single liar plus those echoes would skip it again.
   */
  resumed(memberId: MemberId, now: Instant): void {
    this.#reports.delete(memberId);
    this.#resumedUntil.set(memberId, now + this.windowMillis);
  }

  /** The member left: nothing about it is kept. */
  forget(memberId: MemberId): void {
    this.#reports.delete(memberId);
    this.#resumedUntil.delete(memberId);
  }
}
