import { describe, expect, it } from 'vitest';
import { LostChunkRecovery } from './lost-chunk-recovery.js';

describe('LostChunkRecovery (LRS)', () => {
  it('resends chunk x once, through a monitor, when every monitor reported it lost', () => {
    const recovery = new LostChunkRecovery(32);
    const monitors = [1, 2, 3];
    expect(recovery.report(1, 100, monitors)).toEqual({
      kind: 'wait',
      chunkNumber: 100,
      reported: 1,
      needed: 3,
    });
    expect(recovery.report(1, 100, monitors)).toMatchObject({ kind: 'wait', reported: 1 });
    expect(recovery.report(3, 100, monitors)).toMatchObject({ kind: 'wait', reported: 2 });
    expect(recovery.report(2, 100, monitors)).toEqual({ kind: 'resend', chunkNumber: 100, via: 2 });
    expect(recovery.report(2, 100, monitors)).toMatchObject({
      kind: 'ignored',
      reason: 'already-resent',
    });
    expect(recovery.resends).toBe(1);
  });

  it('does not resend a chunk only some monitors lost (a peer-to-monitor loss, not the cluster)', () => {
    const recovery = new LostChunkRecovery(32);
    for (let chunkNumber = 0; chunkNumber < 100; chunkNumber++) {
      expect(recovery.report(1 + (chunkNumber % 2), chunkNumber, [1, 2]).kind).toBe('wait');
    }
    expect(recovery.resends).toBe(0);
  });

  it('resends at the first report with a single monitor (P2PSP default: 1 monitor)', () => {
    const recovery = new LostChunkRecovery(8);
    expect(recovery.report(5, 2 ** 32 + 7, [5])).toEqual({
      kind: 'resend',
      chunkNumber: 7,
      via: 5,
    });
  });

  it('ignores non-monitors, forgets monitors that left, and spreads resends over monitors', () => {
    const recovery = new LostChunkRecovery(32);
    expect(recovery.report(9, 1, [1, 2])).toMatchObject({ kind: 'ignored', reason: 'not-monitor' });
    expect(recovery.report(1, 1, [1, 2]).kind).toBe('wait');
    // Monitor 2 left before reporting: monitor 1's report now covers every monitor.
    expect(recovery.report(1, 1, [1])).toMatchObject({ kind: 'resend', via: 1 });
    const vias = [10, 11, 12, 13].map((chunkNumber) => {
      recovery.report(1, chunkNumber, [1, 2]);
      const outcome = recovery.report(2, chunkNumber, [1, 2]);
      return outcome.kind === 'resend' ? outcome.via : undefined;
    });
    expect(vias).toEqual([1, 2, 1, 2]);
  });

  it('starts afresh when a slot is reused by a chunk B later', () => {
    const recovery = new LostChunkRecovery(4);
    recovery.report(1, 3, [1, 2]);
    expect(recovery.report(2, 7, [1, 2])).toMatchObject({ kind: 'wait', reported: 1 });
    expect(recovery.report(1, 7, [1, 2]).kind).toBe('resend');
    expect(() => new LostChunkRecovery(0)).toThrow(/capacity/);
  });
});
