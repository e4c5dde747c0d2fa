import type { JoinAccept, RequestedRole } from '@p2psp/wire';
import type { PeerContext } from './peer-context.js';

/**
 * Rule 8: a monitor tells the source about every chunk it lost ([lost chunk]). The source
 * charges the complaint to the member it gave that chunk to (past the threshold, expelled)
 * and, with LRS, resends through a monitor a chunk every monitor lost.
 *
 * Play-out complains about a chunk missing at its play time; with repair, a monitor
 * complains as soon as repair gives up (RMS-lite, chunk-repair.ts), so the resend reaches
 * it before it plays; each chunk once.
 */
export class Complaints {
  readonly #context: PeerContext;
  readonly #role: RequestedRole;
  #monitor = false;
  #monitorCount = 0;

  constructor(context: PeerContext, role: RequestedRole) {
    this.#context = context;
    this.#role = role;
  }

  /** We are one of the cluster's monitors, as the join accept said. */
  get monitor(): boolean {
    return this.#monitor;
  }

  /** Monitors in the cluster when we joined. */
  get monitorCount(): number {
    return this.#monitorCount;
  }

  /**
   * Rule 4: the source lists the joiner itself first; its flags say whether we are a monitor
   * (the first joiner is, by default, even without asking). Returns whether we are.
   */
  start(accept: JoinAccept): boolean {
    const self = accept.members.find((member) => member.memberId === accept.memberId);
    this.#monitor = self?.flags.monitor ?? this.#role === 'monitor';
    this.#monitorCount = accept.monitorCount;
    return this.#monitor;
  }

  /** A chunk we will not get: a monitor says so while the stream flows. */
  lost(chunkNumber: number): void {
    const context = this.#context;
    if (!this.#monitor || context.state !== 'streaming') return;
    context.sendMessage(context.source, {
      type: 'lost-chunk',
      memberId: context.memberId,
      chunkNumber,
    });
  }
}
