import {
  concatBytes,
  createHeaderCapture,
  createSyncScanner,
  type MediaKind,
  type SyncScanner,
} from '@p2psp/media';
import type { StreamHeaderSplitter } from './source-config.js';

const EMPTY = new Uint8Array(0);

/**
 * The source's `StreamHeaderSplitter` on @p2psp/media's header capture (pure, so the Node
 * runtime and the simulator run the same): holds the first bytes until the header (Ogg
 * header pages, WebM init segment, or the ID3 tag to skip for MP3) is complete, then passes
 * the media after it. A header that cannot be captured (too large, malformed) leaves the
 * stream untouched with no header. Null for a kind with no header to find (`unknown`).
 *
 * After `restart` (the ingest reconnected) the new connection's header is captured the same
 * way, and its media starts at its first sync point (@p2psp/media's sync scanner): an HTTP
 * server may start a new connection mid-frame (Icecast sends MP3 from its burst buffer),
 * and a partial frame would reach every player. If the new connection has no header of its
 * own (it resumed the same stream mid-way), the previous header stays.
 */
export function createHeaderSplitter(kind: MediaKind): StreamHeaderSplitter | null {
  if (kind === 'unknown') return null;
  let capture = createHeaderCapture(kind);
  let previousHeader: Uint8Array | null = null;
  /** After a restart, the scanner that finds where the new connection's media may start. */
  let scanner: SyncScanner | null = null;
  let held: Uint8Array[] = [];
  let done = false;
  let header: Uint8Array | null = null;
  const finish = (media: Uint8Array): Uint8Array => {
    done = true;
    scanner = null;
    return media;
  };
  return {
    push(bytes: Uint8Array): Uint8Array {
      if (done) return bytes;
      held.push(bytes);
      if (scanner !== null) {
        const offset = scanner.push(bytes);
        if (offset < 0) return EMPTY;
        const all = concatBytes(held);
        held = [];
        return finish(all.subarray(offset));
      }
      const status = capture.push(bytes);
      if (status === 'need-more') return EMPTY;
      const all = concatBytes(held);
      held = [];
      let media: Uint8Array = all;
      if (status === 'complete' && (capture.header.length > 0 || previousHeader === null)) {
        header = capture.header;
        media = all.subarray(capture.dataOffset);
      } else {
        // No header of its own: keep the one players have (none on the first connection).
        header = previousHeader ?? EMPTY;
        if (status === 'complete') media = all.subarray(capture.dataOffset);
      }
      if (previousHeader === null) return finish(media);
      // A restart: hold the media back until its first sync point.
      scanner = createSyncScanner(kind);
      held = [media];
      const offset = scanner.push(media);
      if (offset < 0) return EMPTY;
      held = [];
      return finish(media.subarray(offset));
    },
    get header(): Uint8Array | null {
      return done ? header : null;
    },
    restart(): void {
      previousHeader = done ? (header ?? EMPTY) : (previousHeader ?? EMPTY);
      capture = createHeaderCapture(kind);
      scanner = null;
      held = [];
      done = false;
    },
  };
}
