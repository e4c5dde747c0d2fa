import { drainOutputs, type Endpoint } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { chunkDatagram, joinedPeer, ME, member, SOURCE, sent } from './joined-peer.test-helpers.js';

const fromMember = (memberId: number): Endpoint => member(memberId).endpoint;

describe('silence reports (rule 6, sooner)', () => {
  it('tells the source about a neighbour that stopped relaying, from 2 rounds on, and nobody while the stream stalls', () => {
    // Members 1 and 2 relay a chunk every round of 3 chunk times (|neighbours| + 1); member 2
    // stops after chunk 3: reported once 2 rounds (6 chunk times) have passed.
    const { core } = joinedPeer(
      { debtThreshold: 1000 },
      { bufferSize: 64, members: [member(ME), member(1), member(2)] },
    );
    const reports: [number, number][] = [];
    let time = 0;
    for (let number = 0; number < 30; number += 3) {
      time += 192;
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(number, ME) }, time);
      core.handle(
        { type: 'datagram', from: fromMember(1), bytes: chunkDatagram(number + 1, 1) },
        time,
      );
      if (number < 4) {
        core.handle(
          { type: 'datagram', from: fromMember(2), bytes: chunkDatagram(number + 2, 2) },
          time,
        );
      }
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time)
        core.handleTimeout(core.pollTimeout()!);
      for (const { to, message } of sent(drainOutputs(core))) {
        if (message.type !== 'member-silent') continue;
        expect(to).toEqual(SOURCE);
        expect(message.memberId).toBe(ME);
        reports.push([message.silentMemberId, number]);
      }
    }
    expect(reports.length).toBeGreaterThan(2);
    expect(reports.every(([silent]) => silent === 2)).toBe(true);
    expect(reports[0]![1]).toBeGreaterThanOrEqual(9);
    expect(reports[0]![1]).toBeLessThanOrEqual(12);
    expect(core.stats().silenceReportsSent).toBe(reports.length);
    // A stalled stream is nobody's silence.
    const before = reports.length;
    for (let tick = 0; tick < 20; tick++) {
      time += 1000;
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time)
        core.handleTimeout(core.pollTimeout()!);
    }
    const later = sent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'member-silent',
    );
    expect(later).toEqual([]);
    expect(core.stats().silenceReportsSent).toBe(before);
  });
});
