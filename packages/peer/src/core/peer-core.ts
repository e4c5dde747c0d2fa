import type { CoreInput, CoreOutput, Instant, SansIoCore } from '@p2psp/wire';
import { type PeerConfig, type ResolvedPeerConfig, resolvePeerConfig } from './peer-config.js';
import type { NeighbourView, PeerStats } from './peer-types.js';

/**
 * The P2PSP peer as a sans-IO core (DBS rules 2-7). WIP: the API is final, the behaviour
 * is being filled in.
 */
export class PeerCore implements SansIoCore {
  readonly config: ResolvedPeerConfig;

  constructor(config: PeerConfig) {
    this.config = resolvePeerConfig(config);
  }

  handle(_input: CoreInput, _now: Instant): void {}

  handleTimeout(_now: Instant): void {}

  pollTimeout(): Instant | undefined {
    return undefined;
  }

  pollOutput(): CoreOutput | undefined {
    return undefined;
  }

  neighbours(): readonly NeighbourView[] {
    return [];
  }

  stats(): PeerStats {
    throw new Error('not implemented yet');
  }
}
