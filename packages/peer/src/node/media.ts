import type { SyncPointFinder } from '../players/player-fan-out.js';

/**
 * Where a late player may start, per media type.
 * TODO(media): use createSyncScanner from @p2psp/media once it lands; until then players
 * start at a chunk boundary.
 */
export function createSyncPointFinder(_mediaType: string): SyncPointFinder | null {
  return null;
}
