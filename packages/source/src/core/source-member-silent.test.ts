import { drainOutputs, type Endpoint, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { createSource, datagramsSent, join } from './source-core.test-helpers.js';

// Rule 6, sooner: members report a neighbour silent (member-silent); the source stops
// feeding it on two reporters and removes it once it has not heard from it for 5 s.

const at = (host: number): Endpoint => ({ address: `10.0.0.${host}`, port: 5000 });

const silent = (memberId: number, silentMemberId: number) =>
  encodeDatagram({ type: 'member-silent', memberId, silentMemberId });

const chunk = (core: ReturnType<typeof createSource>, now: number) =>
  core.handle({ type: 'ingest-data', bytes: new Uint8Array(1024) }, now);

describe('member-silent reports', () => {
  it('skip a member two members stopped hearing, then remove it before the member timeout', () => {
    const core = createSource({ chunkSize: 1024, cluster: { livenessTimeoutMillis: 10_000 } });
    for (const host of [1, 2, 3, 4]) join(core, host, at(host), 0);
    drainOutputs(core);
    core.handle({ type: 'datagram', from: at(2), bytes: silent(2, 4) }, 1500);
    core.handle({ type: 'datagram', from: at(3), bytes: silent(3, 4) }, 1500);
    const skip = drainOutputs(core).filter(
      (output) => output.type === 'event' && output.event.name === 'member-skip',
    );
    expect(skip).toHaveLength(1);
    expect(core.stats()).toMatchObject({ silenceReportsReceived: 2, membersSkipped: 1 });
    // Eight chunks: none to member 4.
    for (let index = 0; index < 8; index++) chunk(core, 1600 + index);
    const destinations = datagramsSent(drainOutputs(core))
      .filter(({ message }) => message.type === 'chunk')
      .map(({ to }) => to.address);
    expect(destinations).toHaveLength(8);
    expect(destinations).not.toContain('10.0.0.4');
    core.handle({ type: 'datagram', from: at(2), bytes: silent(2, 4) }, 5100);
    core.handle({ type: 'datagram', from: at(3), bytes: silent(3, 4) }, 5100);
    const goodbyes = datagramsSent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'goodbye',
    );
    expect(goodbyes.length).toBeGreaterThan(0);
    expect(
      goodbyes.every(({ message }) => message.type === 'goodbye' && message.memberId === 4),
    ).toBe(true);
    expect(core.stats()).toMatchObject({ members: 3, membersRemovedOnReports: 1 });
  });

  it('a report in the name of another member is dropped', () => {
    const core = createSource();
    for (const host of [1, 2, 3]) join(core, host, at(host), 0);
    drainOutputs(core);
    core.handle({ type: 'datagram', from: at(2), bytes: silent(1, 3) }, 1500);
    expect(core.stats().datagramsDropped['member-mismatch']).toBe(1);
    expect(core.stats().silenceReportsReceived).toBe(0);
  });
});
