import {
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  type NatType,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { MAX_SOURCE_FED_EXTERNALS, PEER_LIST_INTERVAL_MILLIS } from './externals.js';
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
  it('tells the fed members about an external joiner, then sends it three non-exclusive chunks', () => {
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
    // Three copies, so that one lost leaves no external unaware; nothing after them.
    const toExternal = chunks.filter((datagram) => datagram.to === EXTERNAL);
    expect(toExternal.map((datagram) => datagram.message)).toMatchObject(
      [0, 1, 2].map((chunkNumber) => ({
        chunkNumber,
        origin: 3,
        flags: { nonExclusive: true, recovered: false },
      })),
    );
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

  /** The chunks `core` sends for `count` ingest pieces, by destination. */
  function chunksFor(core: ReturnType<typeof createSource>, count: number, now: number) {
    for (let piece = 0; piece < count; piece++) {
      core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, now + piece);
    }
    return datagramsSent(drainOutputs(core)).flatMap((datagram) =>
      datagram.message.type === 'chunk' ? [{ to: datagram.to, chunk: datagram.message }] : [],
    );
  }
  const report = (type: NatType) => ({ nat: { type, portStep: 0, mappedEndpoint: null } });
  const sent = (chunks: ReturnType<typeof chunksFor>, to: Endpoint) =>
    chunks
      .filter((sentChunk) => sentChunk.to.address === to.address && sentChunk.to.port === to.port)
      .map((sentChunk) => sentChunk.chunk);

  it('feeds an external itself when no fed member can reach it, and relays nothing through it', () => {
    // A port-restricted monitor and a random-port symmetric external: no hole punching opens
    // the pair (@p2psp/nat), so the members could never feed it.
    const core = createSource({ header: { header: Uint8Array.of(1) } });
    join(core, 1, MONITOR, 0, report('port-restricted-cone'));
    join(core, 2, EXTERNAL, 1, report('symmetric-random'));
    expect(core.members().map((member) => member.role)).toEqual(['monitor', 'external']);
    const chunks = chunksFor(core, 5, 10);
    // The first three chunks onboard it (non-exclusive), the next ones are plain copies.
    expect(
      sent(chunks, EXTERNAL).map((chunk) => [chunk.chunkNumber, chunk.flags.nonExclusive]),
    ).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, false],
      [4, false],
    ]);
    // The round robin is unchanged: every chunk to the monitor, the only fed member.
    expect(sent(chunks, MONITOR)).toHaveLength(5);
    expect(core.stats()).toMatchObject({ externalsFedBySource: 1, fedMembers: 1 });
  });

  it('leaves an external a full cone can reach to the members, and feeds at most MAX_SOURCE_FED_EXTERNALS', () => {
    const core = createSource({ header: { header: Uint8Array.of(1) } });
    join(core, 1, MONITOR, 0, report('full-cone'));
    join(core, 2, EXTERNAL, 1, report('symmetric-random'));
    // Its three onboarding chunks, then nothing.
    expect(sent(chunksFor(core, 4, 10), EXTERNAL)).toHaveLength(3);
    expect(core.stats().externalsFedBySource).toBe(0);

    // Symmetric joiners before any fed member: nobody else could feed them.
    const alone = createSource({ header: { header: Uint8Array.of(1) } });
    const joiners = Array.from({ length: MAX_SOURCE_FED_EXTERNALS + 1 }, (_, index) => ({
      address: `192.0.2.${20 + index}`,
      port: 6000,
    }));
    joiners.forEach((udp, index) => {
      join(alone, index + 1, udp, index, report('symmetric-sequential'));
    });
    const chunks = chunksFor(alone, 4, 10);
    expect(joiners.map((udp) => sent(chunks, udp).length)).toEqual([4, 4, 4, 4, 3]);
    expect(alone.stats().externalsFedBySource).toBe(MAX_SOURCE_FED_EXTERNALS);
  });

  it('makes a fed member behind a symmetric NAT external when a later symmetric joiner cannot reach it', () => {
    const core = createSource({ header: { header: Uint8Array.of(1) } });
    join(core, 1, MONITOR, 0, report('open'));
    // Both report unknown; their NATs remap the port of their own socket: taken as
    // random-port symmetric. The first reaches the open monitor and stays a member.
    const first = { address: '192.0.2.31', port: 7001 };
    const second = { address: '192.0.2.32', port: 7002 };
    join(core, 2, first, 1, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.0.31', port: 4000 },
    });
    expect(core.members().map((member) => member.role)).toEqual(['monitor', 'member']);
    const { outputs } = join(core, 3, second, 2, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.0.32', port: 4000 },
    });
    // Random against random never punches: both become external, fed by the monitor.
    expect(core.members().map((member) => member.role)).toEqual([
      'monitor',
      'external',
      'external',
    ]);
    const notices = datagramsSent(outputs).filter(
      (datagram) => datagram.message.type === 'external-peer',
    );
    expect(notices.map((notice) => [notice.to, notice.message])).toEqual(
      [first, first, first, second, second, second].map((endpoint, index) => [
        MONITOR,
        { type: 'external-peer', memberId: index < 3 ? 2 : 3, endpoint },
      ]),
    );
    const chunks = chunksFor(core, 4, 10);
    expect(sent(chunks, MONITOR)).toHaveLength(4);
    // The demoted member too gets three onboarding chunks: the first that arrives tells it.
    for (const external of [first, second]) {
      expect(sent(chunks, external).map((chunk) => chunk.flags.nonExclusive)).toEqual([
        true,
        true,
        true,
      ]);
    }
    expect(core.stats()).toMatchObject({ membersMadeExternal: 1, externalsFedBySource: 0 });
  });

  it('a liberated joiner is onboarded like an external and never fed by the source, even unreachable', () => {
    const core = createSource({ header: { header: Uint8Array.of(1) } });
    join(core, 1, MONITOR, 0, report('port-restricted-cone'));
    join(core, 2, MEMBER, 1);
    // A random-port symmetric NAT no member can punch: an external would be fed by the source.
    const liberated = join(core, 3, EXTERNAL, 2, {
      role: 'liberated',
      ...report('symmetric-random'),
    });
    expect(liberated.accept.members[0]?.flags).toEqual({
      monitor: false,
      external: false,
      liberated: true,
    });
    expect(core.members().map((member) => member.role)).toEqual(['monitor', 'member', 'liberated']);
    // The fed members are told, as of an external (three copies each).
    const notices = datagramsSent(liberated.outputs).filter(
      (datagram) => datagram.message.type === 'external-peer',
    );
    expect(notices.map((notice) => notice.to)).toEqual([
      ...Array(3).fill(MONITOR),
      ...Array(3).fill(MEMBER),
    ]);
    // Its three onboarding chunks, then nothing; the round robin is the fed members'.
    const chunks = chunksFor(core, 8, 10);
    expect(sent(chunks, EXTERNAL).map((chunk) => chunk.flags.nonExclusive)).toEqual([
      true,
      true,
      true,
    ]);
    expect(chunks.filter((chunk) => chunk.chunk.flags.nonExclusive === false)).toHaveLength(8);
    expect(core.members().find((member) => member.role === 'liberated')?.chunksSent).toBe(0);
    expect(core.stats()).toMatchObject({ externalsFedBySource: 0, fedMembers: 2 });
  });

  it('takes an unknown NAT that keeps ports as a port-restricted cone: a symmetric joiner beside it is fed by the source', () => {
    // Both report unknown (the source's plain STUN). The monitor's NAT keeps its port, the
    // joiner's does not: random-port symmetric, which a port-restricted cone cannot reach.
    const behindNat = { address: '203.0.113.2', port: 5000 };
    const symmetric = { address: '203.0.113.6', port: 20000 };
    const core = createSource({ header: { header: Uint8Array.of(1) } });
    join(core, 1, behindNat, 0, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.1.2', port: 5000 },
    });
    join(core, 2, symmetric, 1, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.2.2', port: 4000 },
    });
    expect(core.members().map((member) => [member.role, member.nat.type])).toEqual([
      ['monitor', 'unknown'],
      ['external', 'symmetric-random'],
    ]);
    expect(sent(chunksFor(core, 3, 10), symmetric)).toHaveLength(3);

    // The other way round: a cone joining a symmetric monitor is external, fed by the source.
    const other = createSource({ header: { header: Uint8Array.of(1) } });
    join(other, 1, symmetric, 0, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.2.2', port: 4000 },
    });
    join(other, 2, behindNat, 1, {
      nat: UNKNOWN_NAT_REPORT,
      privateEndpoint: { address: '10.0.1.2', port: 5000 },
    });
    expect(other.members().map((member) => member.role)).toEqual(['monitor', 'external']);
    const chunks = chunksFor(other, 3, 10);
    expect(sent(chunks, behindNat)).toHaveLength(3);
    expect(sent(chunks, symmetric)).toHaveLength(3);
    expect(other.stats().externalsFedBySource).toBe(1);
  });
});
