import { drainOutputs, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  createSource,
  datagramsSent,
  framesWritten,
  join,
  requestJoin,
} from './source-core.test-helpers.js';

// Rule 6: a member the source removes is told so itself, at once, and so is a member of a
// previous run (or one removed while it could not hear) as soon as it reports.

const first = { address: '10.0.0.1', port: 5000 };
const second = { address: '10.0.0.2', port: 5000 };

function statsReport(memberId: number): Uint8Array {
  return encodeDatagram({
    type: 'stats-report',
    memberId,
    chunksReceived: 0,
    chunksLost: 0,
    chunksPlayed: 0,
    chunksSent: 0,
    bufferFill: 0,
    players: 0,
    neighbours: 0,
  });
}

describe('the source tells a removed member that it was removed', () => {
  it('a member silent past the liveness timeout gets a goodbye with its own id', () => {
    const core = createSource({ cluster: { livenessTimeoutMillis: 1000 } });
    join(core, 1, first, 0);
    join(core, 2, second, 0);
    // Only the second member is heard from.
    core.handle({ type: 'datagram', from: second, bytes: statsReport(2) }, 900);
    drainOutputs(core);
    core.handleTimeout(1001);
    const goodbyes = datagramsSent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'goodbye',
    );
    // Three copies to the removed member (its own id), three to the other (drop member 1).
    expect(goodbyes).toEqual([
      ...Array.from({ length: 3 }, () => ({
        to: first,
        message: { type: 'goodbye', memberId: 1, reason: 'timeout' },
      })),
      ...Array.from({ length: 3 }, () => ({
        to: second,
        message: { type: 'goodbye', memberId: 1, reason: 'timeout' },
      })),
    ]);
    expect(core.stats()).toMatchObject({ members: 1, membersLeft: 1 });
  });

  it('a report from an endpoint where no member is gets one goodbye with the id it claims', () => {
    const core = createSource();
    join(core, 1, first, 0);
    drainOutputs(core);
    // A member of the source's previous run (same address and port, ids start again).
    const stale = { address: '10.0.0.9', port: 6000 };
    core.handle({ type: 'datagram', from: stale, bytes: statsReport(7) }, 10);
    expect(datagramsSent(drainOutputs(core))).toEqual([
      { to: stale, message: { type: 'goodbye', memberId: 7, reason: 'timeout' } },
    ]);
    expect(core.stats().strangersTold).toBe(1);
    expect(core.stats().datagramsDropped['non-member']).toBe(1);
  });

  it('a forged report claiming a member id removes nobody and reaches no member', () => {
    const core = createSource();
    join(core, 1, first, 0);
    drainOutputs(core);
    const forger = { address: '10.0.0.66', port: 6666 };
    core.handle({ type: 'datagram', from: forger, bytes: statsReport(1) }, 10);
    const sent = datagramsSent(drainOutputs(core));
    expect(sent.map(({ to }) => to)).toEqual([forger]);
    expect(core.stats().members).toBe(1);
    // From the member's own endpoint a report is a member's: no goodbye at all.
    core.handle({ type: 'datagram', from: first, bytes: statsReport(1) }, 11);
    expect(datagramsSent(drainOutputs(core))).toEqual([]);
  });

  it('a joiner whose hello is not acknowledged yet is no stranger when it reports', () => {
    const core = createSource();
    join(core, 1, first, 0);
    requestJoin(core, 2, { address: second.address, port: 40002 }, 5);
    const accept = framesWritten(drainOutputs(core), 2)[0];
    if (accept?.type !== 'join-accept') throw new Error('no accept');
    // Its hellos were lost; its first report arrives from its UDP endpoint.
    core.handle({ type: 'datagram', from: second, bytes: statsReport(accept.memberId) }, 2005);
    expect(datagramsSent(drainOutputs(core))).toEqual([]);
    expect(core.stats().strangersTold).toBe(0);
  });
});
