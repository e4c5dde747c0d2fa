import type { StreamMetadata as StreamMetadataMessage } from '@p2psp/wire';
import type { PeerContext } from './peer-context.js';

/**
 * The stream's title and station info, as the source sends them (stream-metadata, in a few
 * copies): each new one goes to the players once (the `stream-metadata` output), copies
 * are ignored. A sequence other than the last one is new: the source never sends an older
 * one again after a change, and it may restart its count (a restarted source), so no
 * serial comparison. Peers do not relay it: the source reaches every member itself.
 */
export class StreamMetadata {
  readonly #context: PeerContext;
  #sequence: number | null = null;

  constructor(context: PeerContext) {
    this.#context = context;
  }

  receive(message: StreamMetadataMessage): void {
    if (message.sequence === this.#sequence) return;
    this.#sequence = message.sequence;
    const { chunkNumber, title, info } = message;
    this.#context.push({ type: 'stream-metadata', chunkNumber, title, info });
  }
}
