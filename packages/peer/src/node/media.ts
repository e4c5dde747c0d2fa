import { createSyncScanner, detectMediaType } from '@p2psp/media';
import type { SyncPointFinder } from '../players/player-fan-out.js';

/**
 * Where a late player may start, per media type (@p2psp/media's sync scanner: an Ogg page,
 * an MP3/ADTS frame, a WebM cluster). Unknown types start at any chunk boundary.
 */
export function createSyncPointFinder(mediaType: string): SyncPointFinder | null {
  const { kind } = detectMediaType({ contentType: mediaType });
  return kind === 'unknown' ? null : createSyncScanner(kind);
}
