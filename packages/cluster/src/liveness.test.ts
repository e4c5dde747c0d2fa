import { describe, expect, it } from 'vitest';
import { livenessTimeout, nextLivenessDeadline, silentMembers } from './liveness.js';
import { MembershipTable } from './membership.js';

describe('liveness (rule 6: members that vanish without goodbye)', () => {
  it('drops a crashed member within 2B chunk times, and no live one', () => {
    // B = 32 chunks, 10 ms per chunk; 8 members; one relays every round, then crashes.
    const bufferSize = 32;
    const chunkIntervalMillis = 10;
    const timeout = livenessTimeout({ bufferSize, chunkIntervalMillis });
    const table = new MembershipTable();
    for (let index = 1; index <= 8; index++) {
      table.add({ role: 'member', endpoint: { address: `10.0.0.${index}`, port: 1 }, now: 0 });
    }
    const crashedAt = 1000;
    let now = 0;
    let droppedAt: number | undefined;
    // The driver wakes at the deadline the core returns from pollTimeout, or at each chunk.
    while (now < crashedAt + 10 * bufferSize * chunkIntervalMillis) {
      const roundPosition = (now / chunkIntervalMillis) % 8;
      const speaker = roundPosition + 1; // member k relays at position k-1 of each round
      if (table.has(speaker) && !(speaker === 3 && now >= crashedAt)) table.heard(speaker, now);
      for (const member of silentMembers(table, now, timeout)) {
        expect(member.memberId).toBe(3);
        table.remove(member.memberId, 'timeout', now);
        droppedAt = now;
      }
      const deadline = nextLivenessDeadline(table, timeout) ?? Number.POSITIVE_INFINITY;
      now = Math.min(now + chunkIntervalMillis, deadline);
    }
    expect(droppedAt).toBeDefined();
    expect((droppedAt as number) - crashedAt).toBeLessThanOrEqual(
      2 * bufferSize * chunkIntervalMillis,
    );
    expect(table.size).toBe(7);
  });

  it('computes the timeout in chunk times (default B) and the next deadline', () => {
    expect(livenessTimeout({ bufferSize: 64, chunkIntervalMillis: 20 })).toBe(1280);
    expect(livenessTimeout({ bufferSize: 64, chunkIntervalMillis: 20, chunkTimes: 10 })).toBe(200);
    expect(nextLivenessDeadline([{ lastHeardAt: 50 }, { lastHeardAt: 20 }], 100)).toBe(120);
    expect(nextLivenessDeadline([], 100)).toBeUndefined();
    expect(silentMembers([{ lastHeardAt: 0 }, { lastHeardAt: 5 }], 100, 100)).toEqual([
      { lastHeardAt: 0 },
    ]);
    expect(() => livenessTimeout({ bufferSize: 0, chunkIntervalMillis: 1 })).toThrow(/bufferSize/);
  });

  it('finds a member silent at the very instant its deadline names (no spin on rounding)', () => {
    // (1.1 + 0.2) - 1.1 < 0.2 in floating point: a difference test misses this member at its
    // own deadline, and a driver woken then is given the same deadline again, for ever.
    const member = { lastHeardAt: 1.1 };
    const deadline = nextLivenessDeadline([member], 0.2);
    expect(deadline).toBe(1.1 + 0.2);
    expect(silentMembers([member], deadline as number, 0.2)).toEqual([member]);
  });
});
