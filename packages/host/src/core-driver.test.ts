import type { Instant } from '@p2psp/wire';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CoreDriver } from './core-driver.js';

/** A core that queues what it is given and asks for a timer `delay` ms after each input. */
class QueueCore {
  readonly outputs: string[] = [];
  readonly timeouts: Instant[] = [];
  deadline: Instant | undefined;

  handle(output: string, now: Instant, delay?: number): void {
    this.outputs.push(output);
    if (delay !== undefined) this.deadline = now + delay;
  }

  handleTimeout(now: Instant): void {
    this.timeouts.push(now);
    this.deadline = undefined;
    this.outputs.push('timeout');
  }

  pollTimeout(): Instant | undefined {
    return this.deadline;
  }

  pollOutput(): string | undefined {
    return this.outputs.shift();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CoreDriver', () => {
  it('performs every output after each input, in order', () => {
    const core = new QueueCore();
    const performed: string[] = [];
    const driver = new CoreDriver(core, { perform: (output) => performed.push(output) });
    driver.run((now) => {
      core.handle('a', now);
      core.handle('b', now);
    });
    expect(performed).toEqual(['a', 'b']);
    expect(driver.run(() => 42)).toBe(42);
  });

  it('holds an input given while performing until the drain ends (no nested core calls)', () => {
    const core = new QueueCore();
    const performed: string[] = [];
    const driver = new CoreDriver(core, {
      perform: (output) => {
        performed.push(output);
        if (output === 'first') {
          expect(driver.run((now) => core.handle('fed-back', now))).toBeUndefined();
          performed.push('after-feed');
        }
      },
    });
    driver.run((now) => {
      core.handle('first', now);
      core.handle('second', now);
    });
    expect(performed).toEqual(['first', 'after-feed', 'second', 'fed-back']);
  });

  it('fires the core timer at its deadline on the driver clock, not before', () => {
    vi.useFakeTimers();
    let clock = 1_000;
    const core = new QueueCore();
    const performed: string[] = [];
    const driver = new CoreDriver(core, {
      perform: (output) => performed.push(output),
      clock: () => clock,
    });
    driver.run((now) => core.handle('armed', now, 50));
    // The timer fires early on the driver's clock: the core is not told.
    clock = 1_040;
    vi.advanceTimersByTime(50);
    expect(core.timeouts).toEqual([]);
    clock = 1_050;
    vi.advanceTimersByTime(10);
    expect(core.timeouts).toEqual([1_050]);
    expect(performed).toEqual(['armed', 'timeout']);
  });

  it('stops: the timer is cancelled and later inputs are ignored', () => {
    vi.useFakeTimers();
    const core = new QueueCore();
    const driver = new CoreDriver(core, { perform: () => {} });
    driver.run((now) => core.handle('armed', now, 10));
    driver.stop();
    vi.advanceTimersByTime(100);
    expect(core.timeouts).toEqual([]);
    expect(driver.run(() => 1)).toBeUndefined();
    expect(driver.stopped).toBe(true);
  });

  it('reports a failing output and goes on with the next one', () => {
    const core = new QueueCore();
    const performed: string[] = [];
    const failures: string[] = [];
    const driver = new CoreDriver(core, {
      perform: (output) => {
        if (output === 'bad') throw new Error('embedder bug');
        performed.push(output);
      },
      onPerformError: (error, output) => failures.push(`${output}: ${(error as Error).message}`),
    });
    driver.run((now) => {
      core.handle('bad', now);
      core.handle('good', now);
    });
    expect(failures).toEqual(['bad: embedder bug']);
    expect(performed).toEqual(['good']);
  });
});
