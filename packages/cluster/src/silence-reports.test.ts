import { describe, expect, it } from 'vitest';
import { SilenceReports } from './silence-reports.js';

describe('SilenceReports', () => {
  it('needs a quorum of distinct reporters: one member repeating itself is not enough', () => {
    const reports = new SilenceReports();
    expect(reports.report(2, 5, 0, 8, 6000)).toEqual({ kind: 'noted', reporters: 1 });
    expect(reports.report(2, 5, 0, 8, 6500)).toEqual({ kind: 'noted', reporters: 1 });
    expect(reports.report(3, 5, 0, 8, 7000)).toEqual({ kind: 'remove', reporters: 2 });
  });

  it("skips, then removes, by the source's own silence from the accused", () => {
    const reports = new SilenceReports();
    reports.report(2, 5, 1000, 8, 1500);
    // Heard 0.5 s ago: an honest member's next stats report is due; nothing happens.
    expect(reports.report(3, 5, 1000, 8, 1500)).toEqual({ kind: 'noted', reporters: 2 });
    reports.report(2, 5, 1000, 8, 2500);
    expect(reports.report(3, 5, 1000, 8, 2500)).toEqual({ kind: 'skip', reporters: 2 });
    reports.report(2, 5, 1000, 8, 6000);
    expect(reports.report(3, 5, 1000, 8, 6000)).toEqual({ kind: 'remove', reporters: 2 });
  });

  it('forgets reports older than the window, and all of them when the accused is heard', () => {
    const reports = new SilenceReports({ windowMillis: 1000 });
    reports.report(2, 5, 0, 8, 5000);
    expect(reports.report(3, 5, 0, 8, 6001)).toEqual({ kind: 'noted', reporters: 1 });
    reports.clear(5);
    expect(reports.report(2, 5, 0, 8, 6002)).toEqual({ kind: 'noted', reporters: 1 });
  });

  it('lowers the quorum to the members that could report', () => {
    const reports = new SilenceReports();
    expect(reports.report(2, 5, 0, 1, 6000)).toEqual({ kind: 'remove', reporters: 1 });
  });

  it('refuses a removal threshold below the skip threshold', () => {
    expect(() => new SilenceReports({ skipAfterMillis: 2000, removeAfterMillis: 1000 })).toThrow(
      /removeAfterMillis/,
    );
  });

  it('ignores reports about a member fed again for the window: its neighbours still echo its unfed silence', () => {
    const reports = new SilenceReports();
    reports.resumed(5, 10_000);
    expect(reports.report(2, 5, 10_000, 8, 12_900)).toEqual({ kind: 'noted', reporters: 0 });
    expect(reports.report(3, 5, 10_000, 8, 12_900)).toEqual({ kind: 'noted', reporters: 0 });
    reports.report(2, 5, 10_000, 8, 13_000);
    expect(reports.report(3, 5, 10_000, 8, 13_000)).toEqual({ kind: 'skip', reporters: 2 });
  });

  it('needs a tenth of the members in a large cluster', () => {
    const reports = new SilenceReports();
    for (const reporter of [1, 2, 3, 4]) {
      expect(reports.report(reporter, 99, 0, 49, 6000)).toMatchObject({ kind: 'noted' });
    }
    expect(reports.report(5, 99, 0, 49, 6000)).toEqual({ kind: 'remove', reporters: 5 });
  });
});
