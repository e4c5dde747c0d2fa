import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from './logging.js';
import { startStatusLine } from './status-line.js';

describe('startStatusLine', () => {
  const isTTY = process.stderr.isTTY;
  afterEach(() => {
    process.stderr.isTTY = isTTY;
    vi.useRealTimers();
  });

  it('logs members, chunks/s, kbit/s, lost and players every period on a terminal', () => {
    vi.useFakeTimers();
    process.stderr.isTTY = true;
    const lines: { fields: object; message: string }[] = [];
    const logger = { info: (fields: object, message: string) => lines.push({ fields, message }) };
    let sample = { members: 3, chunks: 0, bytes: 0, lost: 0, players: 1 };
    const stop = startStatusLine(logger as unknown as Logger, () => sample, 5_000);
    sample = { members: 4, chunks: 80, bytes: 80_000, lost: 2, players: 2 };
    vi.advanceTimersByTime(5_000);
    stop();
    vi.advanceTimersByTime(20_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toBe('status');
    expect(lines[0]?.fields).toEqual({
      members: 4,
      chunksPerSecond: 16,
      kbps: 128,
      lost: 2,
      players: 2,
    });
  });

  it('stays quiet when stderr is not a terminal (JSON logs carry the events)', () => {
    vi.useFakeTimers();
    process.stderr.isTTY = false;
    const info = vi.fn();
    startStatusLine({ info } as unknown as Logger, () => ({
      members: 0,
      chunks: 0,
      bytes: 0,
      lost: 0,
    }));
    vi.advanceTimersByTime(60_000);
    expect(info).not.toHaveBeenCalled();
  });
});
