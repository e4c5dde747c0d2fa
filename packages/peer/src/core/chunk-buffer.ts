import { chunkNumberDistance } from '@p2psp/wire';

/**
 * The peer's buffer of B chunks (rule 5), indexed by chunk number modulo B.
 *
 * Chunk numbers are 32-bit and wrap (RFC 1982); 2^32 is not a multiple of every B, so the
 * slot is taken from an unwrapped *index* instead: the distance from a reference chunk
 * number, added to the reference's index. Indexes are plain increasing integers, so the
 * window and play-out logic never meets the wrap.
 */
export class ChunkBuffer {
  readonly capacity: number;
  readonly #payloads: (Uint8Array | null)[];
  readonly #indexes: Float64Array;
  #referenceNumber = 0;
  #referenceIndex = 0;
  #anchored = false;
  #filled = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#payloads = new Array<Uint8Array | null>(capacity).fill(null);
    this.#indexes = new Float64Array(capacity).fill(Number.NaN);
  }

  /** Chunks held. */
  get filled(): number {
    return this.#filled;
  }

  get anchored(): boolean {
    return this.#anchored;
  }

  /** Makes `chunkNumber` index 0 and empties the buffer (first chunk, or a resync). */
  anchor(chunkNumber: number): void {
    this.#referenceNumber = chunkNumber >>> 0;
    this.#referenceIndex = 0;
    this.#anchored = true;
    this.#payloads.fill(null);
    this.#indexes.fill(Number.NaN);
    this.#filled = 0;
  }

  /** Moves the reference forward, so distances stay far below 2^31 on a long stream. */
  rebase(index: number): void {
    this.#referenceNumber = this.numberOf(index);
    this.#referenceIndex = index;
  }

  indexOf(chunkNumber: number): number {
    return this.#referenceIndex + chunkNumberDistance(chunkNumber, this.#referenceNumber);
  }

  numberOf(index: number): number {
    return (this.#referenceNumber + (index - this.#referenceIndex)) >>> 0;
  }

  has(index: number): boolean {
    return this.#indexes[this.#slot(index)] === index;
  }

  /** Stores a chunk; the first copy wins (a later one is a duplicate and is not stored). */
  put(index: number, payload: Uint8Array): void {
    const slot = this.#slot(index);
    if (this.#payloads[slot] === null) this.#filled++;
    this.#payloads[slot] = payload;
    this.#indexes[slot] = index;
  }

  /** The chunk at `index` without removing it, or null when it is missing. */
  peek(index: number): Uint8Array | null {
    const slot = this.#slot(index);
    return this.#indexes[slot] === index ? this.#payloads[slot]! : null;
  }

  /** Removes and returns the chunk at `index`, or null when it is missing. */
  take(index: number): Uint8Array | null {
    const slot = this.#slot(index);
    if (this.#indexes[slot] !== index) return null;
    const payload = this.#payloads[slot]!;
    this.#payloads[slot] = null;
    this.#indexes[slot] = Number.NaN;
    this.#filled--;
    return payload;
  }

  #slot(index: number): number {
    const slot = index % this.capacity;
    return slot < 0 ? slot + this.capacity : slot;
  }
}
