import { describe, expect, it } from 'vitest';
import { CoreContext } from './core-context.js';
import type { CoreEvent } from './sans-io.js';

type TestEvent = CoreEvent<'peer-join', { memberId: number }>;

function context() {
  return new CoreContext<TestEvent, { joins: number }, 'report', 'malformed' | 'non-member'>({
    stats: { joins: 0 },
    dropReasons: ['malformed', 'non-member'],
  });
}

describe('CoreContext', () => {
  it('queues datagrams and typed events first in, first out', () => {
    const core = context();
    const to = { address: '127.0.0.1', port: 4552 };
    core.send(to, new Uint8Array([1]));
    core.emit({ name: 'peer-join', level: 'info', fields: { memberId: 3 } });
    expect(core.poll()).toEqual({ type: 'send-datagram', to, bytes: new Uint8Array([1]) });
    expect(core.poll()).toEqual({
      type: 'event',
      event: { name: 'peer-join', level: 'info', fields: { memberId: 3 } },
    });
    expect(core.poll()).toBeUndefined();
  });

  it('counts every drop and reports only the first of each reason', () => {
    const core = context();
    const from = { address: '127.0.0.1', port: 4552 };
    core.drop('malformed', from, 'truncated');
    core.drop('malformed', from, 'bad-version');
    core.drop('non-member', from);
    expect(core.drops).toEqual({ malformed: 2, 'non-member': 1 });
    expect(core.poll()).toEqual({
      type: 'event',
      event: {
        name: 'datagram-drop',
        level: 'warn',
        fields: {
          reason: 'malformed',
          from: '127.0.0.1:4552',
          detail: 'truncated',
          note: 'first of its kind; later ones are only counted (stats().datagramsDropped)',
        },
      },
    });
    expect(core.poll()).toMatchObject({
      event: { fields: { reason: 'non-member', detail: null } },
    });
    expect(core.poll()).toBeUndefined();
  });

  it('owns one stats object and the timer table that pollTimeout reads', () => {
    const core = context();
    core.timers.register('report', () => {
      core.stats.joins++;
    });
    core.timers.set('report', 100);
    expect(core.nextTimeout()).toBe(100);
    core.timers.fire(100);
    expect(core.stats.joins).toBe(1);
    expect(core.nextTimeout()).toBeUndefined();
  });
});
