import { decodeStunMessage, encodeStunMessage, mappedEndpointOf } from '@p2psp/nat';
import { drainOutputs, type NatReport } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  createSource,
  datagramsSent,
  framesWritten,
  join,
  requestJoin,
  sendHello,
} from './source-core.test-helpers.js';

/** NAT traversal in the source core: STUN on the cluster port, introductions, impossible pairs. */

const nat = (type: NatReport['type'], portStep = 0): NatReport => ({
  type,
  portStep,
  mappedEndpoint: null,
});

describe('SourceCore STUN service on the cluster port (RFC 8489)', () => {
  it('answers a Binding request with the endpoint it came from, and counts it', () => {
    const core = createSource();
    const from = { address: '203.0.113.9', port: 40123 };
    const transactionId = new Uint8Array(12).fill(7);
    const request = encodeStunMessage({
      method: 0x001,
      messageClass: 'request',
      transactionId,
      attributes: [],
    });
    core.handle({ type: 'datagram', from, bytes: request }, 0);
    const [reply] = drainOutputs(core);
    if (reply?.type !== 'send-datagram') throw new Error('no reply');
    expect(reply.to).toEqual(from);
    const decoded = decodeStunMessage(reply.bytes);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(decoded.message.messageClass).toBe('success-response');
    expect(decoded.message.transactionId).toEqual(transactionId);
    expect(mappedEndpointOf(decoded.message)).toEqual(from);
    expect(core.stats().stunRequestsAnswered).toBe(1);
    expect(core.stats().datagramsDropped.malformed).toBe(0);
  });

  it('drops a STUN-looking datagram that is not a valid request, counted as malformed', () => {
    const core = createSource();
    const bytes = new Uint8Array(20);
    bytes.set([0x00, 0x01, 0x00, 0x03, 0x21, 0x12, 0xa4, 0x42]); // length not a multiple of 4
    core.handle({ type: 'datagram', from: { address: '203.0.113.9', port: 1 }, bytes }, 0);
    expect(drainOutputs(core).filter((output) => output.type === 'send-datagram')).toEqual([]);
    expect(core.stats().datagramsDropped.malformed).toBe(1);
    expect(core.stats().stunRequestsAnswered).toBe(0);
  });
});

describe('SourceCore introductions and impossible pairs (NTS)', () => {
  const a = { address: '198.51.100.1', port: 20000 };
  const b = { address: '198.51.100.2', port: 30000 };

  it('tells a member behind a filtering NAT about each new member, with its NAT report', () => {
    const core = createSource();
    join(core, 1, a, 0, {
      nat: nat('port-restricted-cone'),
      privateEndpoint: { address: '192.168.1.2', port: 4000 },
    });
    const second = join(core, 2, b, 0, {
      nat: nat('restricted-cone'),
      privateEndpoint: { address: '192.168.7.7', port: 4000 },
    });
    // The joiner's accept lists the first member with its NAT (for prediction).
    expect(second.accept.members[1]).toMatchObject({
      memberId: 1,
      nat: { type: 'port-restricted-cone' },
    });
    // The first member is told about the second at once: both sides hello together.
    const page = datagramsSent(second.outputs).find(
      (datagram) => datagram.message.type === 'peer-list-reply' && datagram.to.port === a.port,
    );
    expect(page?.message).toMatchObject({
      type: 'peer-list-reply',
      members: [{ memberId: 2, endpoint: b, nat: { type: 'restricted-cone' } }],
    });
    expect(core.stats().membersIntroduced).toBe(1);
  });

  it("tells a member that joined while a joiner's hello was lost about that joiner too", () => {
    // The first joiner's hello is lost; the second joins meanwhile (its accept does not list
    // the first, which is not active yet) behind a filtering NAT. When the first's hello
    // arrives, both sides must learn of each other, else the second filters it for good.
    const core = createSource();
    requestJoin(core, 1, { address: a.address, port: 40001 }, 0, { nat: nat('open') });
    const first = framesWritten(drainOutputs(core), 1)[0];
    if (first?.type !== 'join-accept') throw new Error('no accept');
    join(core, 2, b, 0, { nat: nat('restricted-cone') });
    sendHello(core, a, first.memberId, 7, 0);
    const pages = datagramsSent(drainOutputs(core)).filter(
      (datagram) => datagram.message.type === 'peer-list-reply',
    );
    expect(pages.find((page) => page.to.port === a.port)?.message).toMatchObject({
      members: [{ memberId: 2 }],
    });
    expect(pages.find((page) => page.to.port === b.port)?.message).toMatchObject({
      members: [{ memberId: first.memberId }],
    });
    expect(core.stats().membersIntroduced).toBe(1);
  });

  it('tells members that take any hello too: peers learn neighbours from the source only', () => {
    const core = createSource();
    const c = { address: '198.51.100.3', port: 5000 };
    join(core, 1, a, 0, { nat: nat('open') });
    join(core, 2, c, 0, { nat: nat('unknown'), privateEndpoint: c });
    const third = join(core, 3, b, 0, { nat: nat('port-restricted-cone') });
    const introductions = datagramsSent(third.outputs).filter(
      (datagram) => datagram.message.type === 'peer-list-reply',
    );
    // One copy each: they take the joiner's hellos, and a lost copy costs a peer list.
    expect(introductions.map((datagram) => datagram.to.address)).toEqual([a.address, c.address]);
    expect(introductions[0]?.message).toMatchObject({ members: [{ memberId: 3, endpoint: b }] });
    expect(core.stats().membersIntroduced).toBe(3);
  });

  it('takes a joiner whose NAT remapped its port as symmetric; external when that leaves it apart from a fed member', () => {
    const core = createSource();
    join(core, 1, a, 0, { nat: nat('port-restricted-cone') });
    // Reports unknown; its socket is 192.168.1.7:4000, its hello comes from port 31234.
    const remapped = { address: '198.51.100.7', port: 31234 };
    const own = { address: '192.168.1.7', port: 4000 };
    const second = join(core, 2, remapped, 0, { privateEndpoint: own });
    expect(second.accept.members.find((member) => member.memberId === 2)?.flags.external).toBe(
      false,
    );
    // Random-port symmetric against port-restricted: no punching, so it is external now.
    expect(core.members().find((member) => member.memberId === 2)).toMatchObject({
      role: 'external',
      nat: { type: 'symmetric-random' },
    });
    expect(
      datagramsSent(second.outputs).some(
        (datagram) => datagram.message.type === 'external-peer' && datagram.to.port === a.port,
      ),
    ).toBe(true);
    expect(core.stats().symmetricNatsInferred).toBe(1);
    // The same joiner among open members stays a member (complaints keyed by IP watch it).
    const open = createSource();
    join(open, 1, a, 0, { nat: nat('open') });
    join(open, 2, remapped, 0, { privateEndpoint: own });
    expect(open.members().find((member) => member.memberId === 2)?.role).toBe('member');
    expect(open.stats().symmetricNatsInferred).toBe(1);
    // A port kept (a cone, or no NAT at all) says nothing.
    const kept = createSource();
    join(kept, 1, a, 0, { nat: nat('port-restricted-cone') });
    join(kept, 2, { address: '198.51.100.7', port: 4000 }, 0, { privateEndpoint: own });
    expect(kept.members().find((member) => member.memberId === 2)?.role).toBe('member');
    expect(kept.stats().symmetricNatsInferred).toBe(0);
  });

  it('never introduces a pair hole punching cannot open, and counts it', () => {
    const core = createSource();
    join(core, 1, a, 0, { nat: nat('port-restricted-cone') });
    // A random-port symmetric NAT (an external peer by the admission default, seed 000).
    const second = join(core, 2, b, 0, { nat: nat('symmetric-random') });
    expect(second.accept.members.map((member) => member.memberId)).toEqual([2]);
    expect(
      datagramsSent(second.outputs).some((datagram) => datagram.message.type === 'peer-list-reply'),
    ).toBe(false);
    expect(core.stats().natPairsImpossible).toBe(1);
    expect(core.stats().members).toBe(2);
  });
});
