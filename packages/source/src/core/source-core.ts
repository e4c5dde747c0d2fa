import type { CoreInput, CoreOutput, Instant, SansIoCore } from '@p2psp/wire';
import {
  type ResolvedSourceConfig,
  resolveSourceConfig,
  type SourceConfig,
} from './source-config.js';
import type { SourceMemberView, SourceStats } from './source-types.js';

/**
 * The P2PSP source as a sans-IO core (DBS rules 1, 4, 6). WIP: the API is final, the
 * behaviour is being filled in.
 */
export class SourceCore implements SansIoCore {
  readonly config: ResolvedSourceConfig;

  constructor(config: SourceConfig) {
    this.config = resolveSourceConfig(config);
  }

  handle(_input: CoreInput, _now: Instant): void {}

  handleTimeout(_now: Instant): void {}

  pollTimeout(): Instant | undefined {
    return undefined;
  }

  pollOutput(): CoreOutput | undefined {
    return undefined;
  }

  /** The member table, in round-robin order. */
  members(): readonly SourceMemberView[] {
    return [];
  }

  /** The member chunk `chunkNumber` went to, if it is among the last B (rule 1). */
  destinationOf(_chunkNumber: number): number | undefined {
    return undefined;
  }

  stats(): SourceStats {
    throw new Error('not implemented yet');
  }
}
