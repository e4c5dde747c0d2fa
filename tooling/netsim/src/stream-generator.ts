import type { SimulatedNode, Simulator } from './simulator.js';
import { fillStreamBytes, RECORD_BYTES } from './stream-content.js';

export interface StreamGeneratorOptions {
  /** Stream rate in bits per second. */
  readonly bitrate: number;
  /** Bytes per ingest piece (a multiple of 8). The source re-cuts them into chunks. */
  readonly pieceBytes: number;
  readonly startAt: number;
  readonly stopAt: number;
  /** The ingest ends (`ingest-end`) when the piece after the last was due: the source ends the stream. */
  readonly end?: boolean;
}

/**
 * Feeds the source `ingest-data` at a constant bit rate, as an encoder or Icecast would:
 * one piece every pieceBytes * 8 / bitrate seconds, content from `fillStreamBytes`.
 * Times are computed from the piece count (not accumulated), so there is no drift.
 */
export class StreamGenerator {
  bytesGenerated = 0;
  private pieces = 0;
  private readonly intervalMs: number;

  constructor(
    private readonly sim: Simulator,
    private readonly source: SimulatedNode,
    private readonly options: StreamGeneratorOptions,
  ) {
    if (!(options.bitrate > 0)) throw new RangeError('bitrate must be > 0 bits per second');
    if (options.pieceBytes <= 0 || options.pieceBytes % RECORD_BYTES !== 0) {
      throw new RangeError(`pieceBytes must be a positive multiple of ${RECORD_BYTES}`);
    }
    this.intervalMs = (options.pieceBytes * 8 * 1000) / options.bitrate;
    sim.schedule(options.startAt + this.intervalMs, () => this.tick());
  }

  /** When the byte at `offset` was ingested (its piece's ingest time). */
  ingestTimeOf(offset: number): number {
    const piece = Math.floor(offset / this.options.pieceBytes);
    return this.options.startAt + (piece + 1) * this.intervalMs;
  }

  private tick(): void {
    const bytes = new Uint8Array(this.options.pieceBytes);
    fillStreamBytes(bytes, this.bytesGenerated);
    this.bytesGenerated += bytes.length;
    this.pieces += 1;
    this.sim.deliver(this.source, { type: 'ingest-data', bytes });
    const next = this.options.startAt + (this.pieces + 1) * this.intervalMs;
    if (next <= this.options.stopAt) this.sim.schedule(next, () => this.tick());
    else if (this.options.end) {
      this.sim.schedule(next, () =>
        this.sim.deliver(this.source, {
          type: 'ingest-end',
          reason: 'end of the generated stream',
        }),
      );
    }
  }
}
