import { describe, expect, it } from 'vitest';
import { OutputQueue } from './output-queue.js';

describe('OutputQueue', () => {
  it('gives outputs back first in, first out, then undefined when drained', () => {
    const queue = new OutputQueue();
    queue.push({ type: 'close', connection: 1, reason: 'first' });
    queue.emit({ name: 'peer-join', level: 'info', fields: { memberId: 3 } });
    queue.push({ type: 'stopped', reason: 'last' });
    expect(queue.shift()).toEqual({ type: 'close', connection: 1, reason: 'first' });
    expect(queue.shift()).toEqual({
      type: 'event',
      event: { name: 'peer-join', level: 'info', fields: { memberId: 3 } },
    });
    expect(queue.shift()).toEqual({ type: 'stopped', reason: 'last' });
    expect(queue.shift()).toBeUndefined();
  });

  it('keeps order when pushes and shifts interleave across a drain', () => {
    const queue = new OutputQueue();
    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      queue.push({ type: 'stopped', reason: `a${round}` });
      queue.push({ type: 'stopped', reason: `b${round}` });
      const first = queue.shift();
      if (first?.type === 'stopped') seen.push(first.reason);
    }
    for (let output = queue.shift(); output !== undefined; output = queue.shift()) {
      if (output.type === 'stopped') seen.push(output.reason);
    }
    expect(seen).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });
});
