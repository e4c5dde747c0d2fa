import type { MemberId } from '@p2psp/wire';
import type { Neighbours } from './neighbours.js';
import type { PeerContext } from './peer-context.js';

/**
 * Relay rounds a neighbour may stay silent before we tell the source. A member fed by the
 * source relays each of its chunks to us once per round of |members| chunk times (rules 1
 * and 2), paced over the round (rule 3): 2 rounds cover one lost relay. Some honest reports
 * come from lost relays all the same; the source's quorum and its own silence filter them,
 * and 3 rounds would cost more chunks per crash at a 500 ms play-out delay.
 */
const SILENT_ROUNDS = 2;

/**
 * Rule 6, sooner: a neighbour that relayed to us and then fell silent for `SILENT_ROUNDS`
 * relay rounds of the stream clock is reported to the source (`member-silent`), again every
 * half round while it stays silent. The source decides (`SourceCluster.memberSilent`): a
 * report is a hint, and one reporter alone never removes anybody. The stream clock stops
 * with the stream, so a stalled ingest reports nobody.
 */
export class SilenceReports {
  readonly #context: PeerContext;
  readonly #neighbours: Neighbours;
  /** Chunk times elapsed (the play-out's advances), and when we next look. */
  #clock = 0;
  #checkAt = 0;

  constructor(context: PeerContext, neighbours: Neighbours) {
    this.#context = context;
    this.#neighbours = neighbours;
  }

  /** The stream clock advanced by `chunkTimes`. */
  advanced(chunkTimes: number): void {
    this.#clock += chunkTimes;
    if (this.#clock < this.#checkAt) return;
    // A round: every member (us included) gets one source chunk in it.
    const round = this.#neighbours.size + 1;
    this.#checkAt = this.#clock + Math.max(1, Math.floor(round / 2));
    const context = this.#context;
    if (context.state !== 'streaming') return;
    for (const silentMemberId of this.#neighbours.silentFor(SILENT_ROUNDS * round)) {
      this.#report(silentMemberId);
    }
  }

  #report(silentMemberId: MemberId): void {
    const context = this.#context;
    context.stats.silenceReportsSent++;
    context.sendMessage(context.source, {
      type: 'member-silent',
      memberId: context.memberId,
      silentMemberId,
    });
  }
}
