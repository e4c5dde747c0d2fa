import { describe, expect, it } from 'vitest';
import { TimerTable } from './timer-table.js';

describe('TimerTable', () => {
  it('has no deadline until a timer is set, and next() is the earliest', () => {
    const timers = new TimerTable<'a' | 'b'>();
    timers.register('a', () => {});
    timers.register('b', () => {});
    expect(timers.next()).toBeUndefined();
    timers.set('a', 50);
    timers.set('b', 20);
    expect(timers.next()).toBe(20);
    timers.stop('b');
    expect(timers.next()).toBe(50);
    expect(timers.deadline('b')).toBeNull();
  });

  it('fires due timers once each, in registration order, and stops them first', () => {
    const fired: string[] = [];
    const timers = new TimerTable<'first' | 'second' | 'later'>();
    timers.register('first', (now) => fired.push(`first@${now}`));
    timers.register('second', (now) => fired.push(`second@${now}`));
    timers.register('later', (now) => fired.push(`later@${now}`));
    timers.set('second', 5);
    timers.set('first', 10);
    timers.set('later', 11);
    timers.fire(10);
    expect(fired).toEqual(['first@10', 'second@10']);
    expect(timers.next()).toBe(11);
  });

  it('lets a handler re-arm its own timer without firing it again in the same call', () => {
    let count = 0;
    const timers = new TimerTable<'tick'>();
    timers.register('tick', (now) => {
      count++;
      timers.set('tick', now);
    });
    timers.set('tick', 0);
    timers.fire(0);
    expect(count).toBe(1);
    expect(timers.next()).toBe(0);
  });

  it('setEarliest keeps the earlier deadline', () => {
    const timers = new TimerTable<'t'>();
    timers.register('t', () => {});
    timers.setEarliest('t', 30);
    timers.setEarliest('t', 40);
    expect(timers.deadline('t')).toBe(30);
    timers.setEarliest('t', 10);
    expect(timers.deadline('t')).toBe(10);
  });

  it('refuses a name registered twice or never registered', () => {
    const timers = new TimerTable<string>();
    timers.register('t', () => {});
    expect(() => timers.register('t', () => {})).toThrow(/registered twice/);
    expect(() => timers.set('u', 1)).toThrow(/not registered/);
  });
});
