import { drainOutputs, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { EXTERNAL_TIMEOUT_MILLIS } from './external-neighbours.js';
import { EXTERNAL_KEEPALIVE_MILLIS } from './external-onboarding.js';
import {
  chunkDatagram,
  joinedPeer,
  ME,
  member,
  PLAIN,
  SOURCE,
  sent,
} from './joined-peer.test-helpers.js';

const NON_EXCLUSIVE = { nonExclusive: true, recovered: false } as const;
/** External 9 as the source saw it, and as we see it: its symmetric NAT gave us another port. */
const EXTERNAL_AT_SOURCE = { address: '192.0.2.9', port: 6001 };
const EXTERNAL_HERE = { address: '192.0.2.9', port: 6377 };

/** Runs every timer due up to `until`. */
function runUntil(core: ReturnType<typeof joinedPeer>['core'], until: number): void {
  while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= until) {
    core.handleTimeout(core.pollTimeout()!);
  }
}

describe('an external peer (seed 000)', () => {
  const external = () =>
    joinedPeer(
      {},
      {
        members: [
          { ...member(ME), flags: { ...member(ME).flags, external: true } },
          member(1, true),
          member(2),
        ],
      },
    );

  it('says external in its stats, relays its one non-exclusive chunk to every member at once', () => {
    const { core } = external();
    expect(core.stats().role).toBe('external');
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME, NON_EXCLUSIVE) }, 10);
    const relays = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    expect(relays.map(({ to }) => to.address)).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(relays[0]?.message).toMatchObject({ chunkNumber: 0, origin: ME, flags: NON_EXCLUSIVE });
    expect(core.stats()).toMatchObject({ onboardingChunks: 1, chunksFromSource: 1 });
  });

  it('plays the chunks the source feeds it itself (no member reaches it) and relays none of them', () => {
    const { core } = external();
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME, NON_EXCLUSIVE) }, 10);
    drainOutputs(core);
    for (let number = 1; number <= 20; number++) {
      core.handle(
        { type: 'datagram', from: SOURCE, bytes: chunkDatagram(number, ME) },
        10 + number * 20,
      );
      runUntil(core, 10 + number * 20);
    }
    runUntil(core, 2000);
    const relays = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    expect(relays).toEqual([]);
    // Only the onboarding chunk was relayed (to both members).
    expect(core.stats()).toMatchObject({ chunksFromSource: 21, chunksRelayed: 2 });
    expect(core.stats().chunksPlayed).toBeGreaterThan(0);
  });

  it('keeps its NAT open with a keepalive to each member every 10 s', () => {
    const { core } = external();
    runUntil(core, 3 * EXTERNAL_KEEPALIVE_MILLIS);
    const keepalives = sent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'hello-ack' && message.nonce === 0,
    );
    expect(keepalives).toHaveLength(3 * 2);
    expect(keepalives[0]?.message).toEqual({ type: 'hello-ack', memberId: ME, nonce: 0 });
    expect(core.stats().keepalivesSent).toBe(6);
  });

  it('re-onboards towards a member it cannot hear: asks the source for the list, sends it its chunk again', () => {
    const { core } = external();
    const onboarding = chunkDatagram(0, ME, NON_EXCLUSIVE);
    core.handle({ type: 'datagram', from: SOURCE, bytes: onboarding }, 10);
    drainOutputs(core);
    // Member 1 relays to us all along; member 2 never reaches us.
    const from1 = { address: '10.0.1.1', port: 5000 };
    for (let number = 1; number <= 50; number++) {
      const at = number * 100;
      runUntil(core, at);
      core.handle({ type: 'datagram', from: from1, bytes: chunkDatagram(number, 1) }, at);
    }
    const outputs = sent(drainOutputs(core));
    const requests = outputs.filter(({ message }) => message.type === 'peer-list-request');
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests[0]).toMatchObject({ to: SOURCE, message: { memberId: ME } });
    const resent = outputs.filter(
      ({ message }) => message.type === 'chunk' && message.flags.nonExclusive,
    );
    // Once per silence window (2 s here), to member 2 only.
    expect(resent.map(({ to }) => to.address)).toEqual(
      Array.from({ length: resent.length }, () => '10.0.1.2'),
    );
    expect(resent.length).toBeGreaterThanOrEqual(1);
    expect(resent.length).toBeLessThanOrEqual(3);
    expect(core.stats()).toMatchObject({
      reonboardings: requests.length,
      onboardingChunksResent: resent.length,
    });
  });

  it('asks the source for the peer list when its loss is high although every member is heard', () => {
    const { core } = external();
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME, NON_EXCLUSIVE) }, 5);
    drainOutputs(core);
    // Members 1 and 2 relay in turn; every fifth chunk never comes (a member we do not know).
    for (let number = 1; number <= 600; number++) {
      const at = 10 * number;
      runUntil(core, at);
      if (number % 5 === 0) continue;
      const from = { address: `10.0.1.${1 + (number % 2)}`, port: 5000 };
      core.handle({ type: 'datagram', from, bytes: chunkDatagram(number, 1 + (number % 2)) }, at);
    }
    const outputs = sent(drainOutputs(core));
    expect(core.stats().chunksLost).toBeGreaterThan(64);
    expect(outputs.filter(({ message }) => message.type === 'peer-list-request')).not.toEqual([]);
    // Nobody is silent: the onboarding chunk goes to nobody again.
    expect(core.stats().onboardingChunksResent).toBe(0);
  });

  it('becomes external when the source sends it a non-exclusive chunk after an accept as member', () => {
    // The source classified our NAT as symmetric from our hello, after its accept.
    const { core } = joinedPeer();
    expect(core.stats().role).toBe('peer');
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME, NON_EXCLUSIVE) }, 10);
    expect(core.stats()).toMatchObject({ role: 'external', onboardingChunks: 1 });
    drainOutputs(core);
    runUntil(core, 10 + EXTERNAL_KEEPALIVE_MILLIS);
    expect(core.stats().keepalivesSent).toBeGreaterThan(0);
  });

  it("takes any of the source's onboarding copies as its onboarding, and relays only the first", () => {
    // Accepted as member; the source's first copy was lost, the second and third arrive.
    const { core } = joinedPeer();
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(1, ME, NON_EXCLUSIVE) }, 10);
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(2, ME, NON_EXCLUSIVE) }, 74);
    const relays = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    // Chunk 1, once to each of the four members; chunk 2 is only played.
    expect(relays.map(({ to, message }) => [to.address, message])).toEqual(
      ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'].map((address) => [
        address,
        expect.objectContaining({ chunkNumber: 1, flags: NON_EXCLUSIVE }),
      ]),
    );
    expect(core.stats()).toMatchObject({
      role: 'external',
      onboardingChunks: 1,
      chunksFromSource: 2,
      chunksRelayed: 4,
    });
  });

  it('a plain peer sends no keepalives and says peer', () => {
    const { core } = joinedPeer();
    runUntil(core, 3 * EXTERNAL_KEEPALIVE_MILLIS);
    expect(core.stats()).toMatchObject({ role: 'peer', keepalivesSent: 0, reonboardings: 0 });
  });
});

describe('a member feeding an external (seed 000)', () => {
  const notice = encodeDatagram({
    type: 'external-peer',
    memberId: 9,
    endpoint: EXTERNAL_AT_SOURCE,
  });

  it('learns the external from its non-exclusive chunk (same IP, any port), feeds it once verified, never charges it', () => {
    const { core } = joinedPeer({ debtThreshold: 3 }, { members: [member(ME), member(1, true)] });
    core.handle({ type: 'datagram', from: SOURCE, bytes: notice }, 0);
    core.handle({ type: 'datagram', from: SOURCE, bytes: notice }, 0);
    core.handle(
      { type: 'datagram', from: EXTERNAL_HERE, bytes: chunkDatagram(0, 9, NON_EXCLUSIVE) },
      5,
    );
    const toExternal = () =>
      sent(drainOutputs(core)).filter(({ to }) => to.port === EXTERNAL_HERE.port);
    // A challenge, no chunk until it echoes the nonce.
    const [challenge] = toExternal();
    expect(challenge?.message.type).toBe('hello');
    const nonce = challenge?.message.type === 'hello' ? challenge.message.nonce : -1;
    core.handle(
      {
        type: 'datagram',
        from: EXTERNAL_HERE,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce }),
      },
      6,
    );
    // Far past the debt threshold: it is never dropped, it gets every relay.
    let relays = 0;
    for (let number = 1; number <= 20; number++) {
      core.handle(
        { type: 'datagram', from: SOURCE, bytes: chunkDatagram(number, ME, PLAIN) },
        number * 10,
      );
      runUntil(core, number * 10 + 9);
      relays += toExternal().filter(({ message }) => message.type === 'chunk').length;
      // Its keepalive: taken silently.
      core.handle(
        {
          type: 'datagram',
          from: EXTERNAL_HERE,
          bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce: 0 }),
        },
        number * 10 + 9,
      );
    }
    expect(relays).toBeGreaterThanOrEqual(20);
    const view = core.neighbours().find((neighbour) => neighbour.memberId === 9);
    expect(view).toMatchObject({ verified: true, debt: 0 });
    expect(core.stats()).toMatchObject({
      externalNotices: 1,
      externalsOnboarded: 1,
    });
  });

  it('drops an external only after silence past the timeout', () => {
    const { core } = joinedPeer({}, { members: [member(ME), member(1, true)] });
    core.handle({ type: 'datagram', from: SOURCE, bytes: notice }, 0);
    core.handle(
      { type: 'datagram', from: EXTERNAL_HERE, bytes: chunkDatagram(0, 9, NON_EXCLUSIVE) },
      0,
    );
    const challenge = sent(drainOutputs(core)).find(({ to }) => to.port === EXTERNAL_HERE.port);
    const nonce = challenge?.message.type === 'hello' ? challenge.message.nonce : -1;
    core.handle(
      {
        type: 'datagram',
        from: EXTERNAL_HERE,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce }),
      },
      1,
    );
    const has9 = () => core.neighbours().some((neighbour) => neighbour.memberId === 9);
    const sourceKeepalive = encodeDatagram({ type: 'hello-ack', memberId: ME, nonce: 0 });
    // Keepalives keep it, for longer than the timeout.
    for (let time = 10_000; time <= 2 * EXTERNAL_TIMEOUT_MILLIS; time += 10_000) {
      runUntil(core, time);
      core.handle({ type: 'datagram', from: SOURCE, bytes: sourceKeepalive }, time);
      core.handle(
        {
          type: 'datagram',
          from: EXTERNAL_HERE,
          bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce: 0 }),
        },
        time,
      );
    }
    expect(has9()).toBe(true);
    for (let time = 70_000; time <= 3 * EXTERNAL_TIMEOUT_MILLIS + 10_000; time += 5_000) {
      runUntil(core, time);
      core.handle({ type: 'datagram', from: SOURCE, bytes: sourceKeepalive }, time);
    }
    expect(core.state).toBe('streaming');
    expect(has9()).toBe(false);
  });

  it('bad input: a non-exclusive chunk from a stranger, from another IP, a forged keepalive: nothing sent, counted', () => {
    const { core } = joinedPeer({}, { members: [member(ME), member(1, true)] });
    core.handle({ type: 'datagram', from: SOURCE, bytes: notice }, 0);
    const stranger = { address: '198.51.100.66', port: 4000 };
    core.handle(
      { type: 'datagram', from: stranger, bytes: chunkDatagram(0, 77, NON_EXCLUSIVE) },
      1,
    );
    // Claims external 9's id from another address.
    core.handle({ type: 'datagram', from: stranger, bytes: chunkDatagram(1, 9, NON_EXCLUSIVE) }, 2);
    core.handle(
      {
        type: 'datagram',
        from: stranger,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce: 0 }),
      },
      3,
    );
    expect(sent(drainOutputs(core)).filter(({ to }) => to.address === stranger.address)).toEqual(
      [],
    );
    expect(core.stats().datagramsDropped).toMatchObject({ 'unknown-external': 2, 'non-member': 1 });
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1]);
    // Streaming goes on.
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(2, ME, PLAIN) }, 10);
    runUntil(core, 30);
    expect(sent(drainOutputs(core)).some(({ message }) => message.type === 'chunk')).toBe(true);
  });
});
