import type { MemberId } from '@p2psp/wire';
import { checkInteger } from './errors.js';
import { toChunkNumber } from './serial.js';

export type RecoveryOutcome =
  /** Resend `chunkNumber` to the monitor `via` (flag `recovered`), which relays it. */
  | { readonly kind: 'resend'; readonly chunkNumber: number; readonly via: MemberId }
  /** Not every monitor has reported it yet. */
  | {
      readonly kind: 'wait';
      readonly chunkNumber: number;
      readonly reported: number;
      readonly needed: number;
    }
  | {
      readonly kind: 'ignored';
      readonly chunkNumber: number;
      /** `not-monitor`: the reporter is not a current monitor; `already-resent`: decided before. */
      readonly reason: 'not-monitor' | 'already-resent';
    };

interface Slot {
  chunkNumber: number;
  reporters: Set<MemberId>;
  resent: boolean;
}

/**
 * LRS (lost chunk recovery): when every monitor has reported chunk x lost, the chunk was
 * lost for the whole cluster (its destination never relayed it, or the source's link lost
 * it), so the source resends it once, through a monitor, which relays it to everybody.
 * Monitors play with half the buffer (B/2) so their reports arrive while other peers can
 * still use the resend. Remembers the last `capacity` chunk numbers (B), like
 * `ChunkDestinations`.
 */
export class LostChunkRecovery {
  readonly capacity: number;
  readonly #slots: (Slot | undefined)[];
  #resends = 0;

  constructor(capacity: number) {
    this.capacity = checkInteger('capacity (buffer size B)', capacity, 1, 1 << 24);
    this.#slots = new Array<Slot | undefined>(this.capacity).fill(undefined);
  }

  /**
   * Monitor `reporter` says `chunkNumber` was lost; `monitors` are the current monitors (in
   * join order). The resend goes through the monitor at `chunkNumber mod |monitors|`, which
   * spreads the relaying work deterministically.
   */
  report(reporter: MemberId, chunkNumber: number, monitors: readonly MemberId[]): RecoveryOutcome {
    const number = toChunkNumber(chunkNumber);
    if (!monitors.includes(reporter)) {
      return { kind: 'ignored', chunkNumber: number, reason: 'not-monitor' };
    }
    const index = number % this.capacity;
    let slot = this.#slots[index];
    if (slot === undefined || slot.chunkNumber !== number) {
      slot = { chunkNumber: number, reporters: new Set(), resent: false };
      this.#slots[index] = slot;
    }
    if (slot.resent) return { kind: 'ignored', chunkNumber: number, reason: 'already-resent' };
    slot.reporters.add(reporter);
    // A monitor that left since reporting no longer counts; one that joined must report too.
    const reported = monitors.filter((monitor) => slot.reporters.has(monitor)).length;
    if (reported < monitors.length) {
      return { kind: 'wait', chunkNumber: number, reported, needed: monitors.length };
    }
    slot.resent = true;
    this.#resends++;
    const via = monitors[number % monitors.length] as MemberId;
    return { kind: 'resend', chunkNumber: number, via };
  }

  /** Resends decided over this object's life. */
  get resends(): number {
    return this.#resends;
  }
}
