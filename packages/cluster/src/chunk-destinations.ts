import type { MemberId } from '@p2psp/wire';
import { checkInteger } from './errors.js';
import { toChunkNumber } from './serial.js';

/** What `claim` says about a complaint's chunk. */
export type ChunkClaim =
  | { readonly kind: 'first'; readonly memberId: MemberId }
  | { readonly kind: 'duplicate'; readonly memberId: MemberId }
  | { readonly kind: 'unknown' };

interface Slot {
  chunkNumber: number;
  memberId: MemberId;
  charged: boolean;
}

/**
 * The destination of the last B chunks (rule 1): chunk number mod B -> member. Each slot
 * keeps the full 32-bit chunk number, so a complaint about a chunk older than B (its slot
 * reused) or never sent is `unknown` instead of being charged to whoever holds the slot now.
 * (Across the 2^32 wrap, a B that does not divide 2^32 shifts the slots: a chunk may be
 * forgotten a little early or kept a little late, never attributed to the wrong member.)
 */
export class ChunkDestinations {
  readonly capacity: number;
  readonly #slots: (Slot | undefined)[];

  constructor(capacity: number) {
    this.capacity = checkInteger('capacity (buffer size B)', capacity, 1, 1 << 24);
    this.#slots = new Array<Slot | undefined>(this.capacity).fill(undefined);
  }

  /** The source sent `chunkNumber` to `memberId`. */
  record(chunkNumber: number, memberId: MemberId): void {
    const number = toChunkNumber(chunkNumber);
    this.#slots[number % this.capacity] = { chunkNumber: number, memberId, charged: false };
  }

  /** The member the chunk went to, if it is among the last B recorded. */
  destinationOf(chunkNumber: number): MemberId | undefined {
    return this.#slot(chunkNumber)?.memberId;
  }

  /**
   * Looks up a complaint's chunk and marks it charged: the first complaint about a chunk is
   * `first`, later ones (another monitor, a repeat) `duplicate`, so a lost chunk costs its
   * destination one complaint however many monitors saw it.
   */
  claim(chunkNumber: number): ChunkClaim {
    const slot = this.#slot(chunkNumber);
    if (slot === undefined) return { kind: 'unknown' };
    if (slot.charged) return { kind: 'duplicate', memberId: slot.memberId };
    slot.charged = true;
    return { kind: 'first', memberId: slot.memberId };
  }

  #slot(chunkNumber: number): Slot | undefined {
    const number = toChunkNumber(chunkNumber);
    const slot = this.#slots[number % this.capacity];
    return slot !== undefined && slot.chunkNumber === number ? slot : undefined;
  }
}
