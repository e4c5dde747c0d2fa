import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { EventKind, EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('pops by time, and events at the same time in the order they were pushed', () => {
    const queue = new EventQueue();
    const random = createRandom(7);
    const pushed: { time: number; label: number }[] = [];
    for (let label = 0; label < 5000; label += 1) {
      // Few distinct times so ties are common.
      const time = Math.floor(random.next() * 50);
      const event = queue.allocate();
      event.time = time;
      event.kind = EventKind.Action;
      event.number = label;
      queue.push(event);
      pushed.push({ time, label });
    }
    const expected = [...pushed].sort((a, b) => a.time - b.time || a.label - b.label);
    const popped: number[] = [];
    for (let event = queue.pop(); event !== undefined; event = queue.pop()) {
      popped.push(event.number);
      queue.release(event);
    }
    expect(popped).toEqual(expected.map((entry) => entry.label));
    expect(queue.size).toBe(0);
    expect(queue.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it('pops exactly the order of (time, push order) when pushes and pops interleave', () => {
    const queue = new EventQueue();
    const random = createRandom(13);
    // Reference: the events pushed and not yet popped, kept sorted by (time, label).
    const pending: { time: number; label: number }[] = [];
    const expected: number[] = [];
    const popped: number[] = [];
    let now = 0;
    let label = 0;
    for (let step = 0; step < 20_000; step += 1) {
      if (random.next() < 0.55 || pending.length === 0) {
        const event = queue.allocate();
        // Few distinct offsets: same-instant ties across growth and sifts.
        event.time = now + Math.floor(random.next() * 8) * 5;
        event.number = label;
        queue.push(event);
        // Labels grow, so the new one goes after every pending event of its time or earlier.
        let at = pending.length;
        while (at > 0 && pending[at - 1]!.time > event.time) at -= 1;
        pending.splice(at, 0, { time: event.time, label });
        label += 1;
      } else {
        expected.push(pending.shift()!.label);
        const event = queue.pop()!;
        popped.push(event.number);
        now = event.time;
        queue.release(event);
      }
    }
    expect(popped).toEqual(expected);
    expect(queue.size).toBe(pending.length);
  });

  it('keeps order when pushes and pops interleave', () => {
    const queue = new EventQueue();
    const random = createRandom(11);
    let now = 0;
    let last = -1;
    for (let step = 0; step < 20_000; step += 1) {
      if (random.next() < 0.55 || queue.size === 0) {
        const event = queue.allocate();
        event.time = now + Math.floor(random.next() * 100);
        queue.push(event);
      } else {
        const event = queue.pop()!;
        expect(event.time).toBeGreaterThanOrEqual(last);
        last = event.time;
        now = event.time;
        queue.release(event);
      }
    }
  });
});
