import { drainOutputs, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { PEER_LIST_INTERVAL_MILLIS } from './externals.js';
import { createSource, datagramsSent, join } from './source-core.test-helpers.js';

const MONITOR = { address: '10.0.0.1', port: 5000 };
const MEMBER = { address: '10.0.0.2', port: 5000 };
const EXTERNAL = { address: '192.0.2.9', port: 6001 };

/** A source with room for two fed members, a monitor and a member joined, then a third. */
function clusterWithExternal() {
  const core = createSource({ maxMembers: 2, header: { header: Uint8Array.of(1) } });
  join(core, 1, MONITOR, 0);
  join(core, 2, MEMBER, 1);
  const external = join(core, 3, EXTERNAL, 2);
  return { core, external };
}

describe('Externals (seed 000)', () => {
  it('tells the fed members about an external joiner, then sends it one non-exclusive chunk', () => {
    const { core, external } = clusterWithExternal();
    expect(external.accept.members[0]?.flags.external).toBe(true);
    expect(core.members().map((member) => member.role)).toEqual(['monitor', 'member', 'external']);
    const notices = datagramsSent(external.outputs).filter(
      (datagram) => datagram.message.type === 'external-peer',
    );
    // Three copies to each fed member, with the endpoint the source sees.
    expect(notices).toHaveLength(6);
    expect(notices.map((notice) => notice.to)).toEqual([
      MONITOR,
      MONITOR,
      MONITOR,
      MEMBER,
      MEMBER,
      MEMBER,
    ]);
    expect(notices[0]?.message).toEqual({ type: 'external-peer', memberId: 3, endpoint: EXTERNAL });

    for (let chunk = 0; chunk < 4; chunk++) {
      core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 10 + chunk);
    }
    const chunks = datagramsSent(drainOutputs(core)).filter(
      (datagram) => datagram.message.type === 'chunk',
    );
    const toExternal = chunks.filter((datagram) => datagram.to === EXTERNAL);
    expect(toExternal).toHaveLength(1);
    expect(toExternal[0]?.message).toMatchObject({
      chunkNumber: 0,
      origin: 3,
      flags: { nonExclusive: true, recovered: false },
    });
    // The round robin is the fed members' only: each chunk goes to one of them.
    expect(chunks.filter((datagram) => datagram.to !== EXTERNAL)).toHaveLength(4);
    expect(core.stats()).toMatchObject({
      externalsOnboarded: 1,
      externalNoticesSent: 2,
      fedMembers: 2,
    });
  });

  it('answers a peer-list request once per interval per requester, and never a stranger', () => {
    const { core } = clusterWithExternal();
    const request = encodeDatagram({ type: 'peer-list-request', memberId: 3 });
    const ask = (from: typeof EXTERNAL, now: number) => {
      core.handle({ type: 'datagram', from, bytes: request }, now);
      return datagramsSent(drainOutputs(core)).filter(
        (datagram) => datagram.message.type === 'peer-list-reply',
      );
    };
    const first = ask(EXTERNAL, 100);
    expect(first).toHaveLength(1);
    expect(first[0]?.message).toMatchObject({ total: 3 });
    expect(ask(EXTERNAL, 101)).toHaveLength(0);
    expect(ask(EXTERNAL, 100 + PEER_LIST_INTERVAL_MILLIS)).toHaveLength(1);
    // A stranger (another port of the external's NAT, or anybody) gets nothing.
    expect(ask({ address: '192.0.2.9', port: 6002 }, 5000)).toHaveLength(0);
    expect(core.stats()).toMatchObject({ peerListsSent: 2, peerListRequestsLimited: 1 });
    // Their bytes, counted apart: two lists of one page each.
    expect(core.stats().peerListBytesSent).toBe(2 * encodeDatagram(first[0]!.message).length);
    expect(core.stats().datagramsDropped['non-member']).toBe(1);
  });
});
