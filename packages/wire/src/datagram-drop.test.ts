import { describe, expect, it } from 'vitest';
import { countDrop } from './datagram-drop.js';
import { OutputQueue } from './output-queue.js';

describe('countDrop', () => {
  it('counts every drop and reports only the first of each reason', () => {
    const outputs = new OutputQueue();
    const drops = { malformed: 0, 'non-member': 0 };
    const from = { address: '127.0.0.1', port: 4552 };
    countDrop(outputs, drops, 'malformed', from, 'truncated');
    countDrop(outputs, drops, 'malformed', from, 'bad-version');
    countDrop(outputs, drops, 'non-member', from);
    expect(drops).toEqual({ malformed: 2, 'non-member': 1 });
    expect(outputs.shift()).toEqual({
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
    expect(outputs.shift()).toMatchObject({
      event: { fields: { reason: 'non-member', detail: null } },
    });
    expect(outputs.shift()).toBeUndefined();
  });
});
