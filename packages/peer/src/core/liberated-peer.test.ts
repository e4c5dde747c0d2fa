import { createRandom, drainOutputs, FrameDecoder } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { EXTERNAL_KEEPALIVE_MILLIS } from './external-onboarding.js';
import { chunkDatagram, joinedPeer, ME, member, SOURCE, sent } from './joined-peer.test-helpers.js';
import { PeerCore } from './peer-core.js';

const NON_EXCLUSIVE = { nonExclusive: true, recovered: false } as const;

/** Runs every timer due up to `until`. */
function runUntil(core: PeerCore, until: number): void {
  while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= until) {
    core.handleTimeout(core.pollTimeout()!);
  }
}

describe('a liberated peer (seed 000)', () => {
  const liberated = () =>
    joinedPeer(
      { role: 'liberated' },
      {
        members: [
          { ...member(ME), flags: { ...member(ME).flags, liberated: true } },
          member(1, true),
          member(2),
        ],
      },
    );

  it('asks the source for the liberated role in its join request', () => {
    const core = new PeerCore({ source: SOURCE, random: createRandom(3), role: 'liberated' });
    core.handleTimeout(0);
    drainOutputs(core);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 1);
    const request = drainOutputs(core);
    const decoder = new FrameDecoder();
    decoder.push(request[0]?.type === 'write' ? request[0].bytes : new Uint8Array(0));
    expect([...decoder]).toMatchObject([
      { ok: true, message: { type: 'join-request', role: 'liberated' } },
    ]);
  });

  it('says liberated in its stats, plays what the members relay, and relays nothing', () => {
    const { core } = liberated();
    expect(core.stats().role).toBe('liberated');
    for (let number = 0; number < 40; number++) {
      const from = member(1 + (number % 2)).endpoint;
      core.handle(
        { type: 'datagram', from, bytes: chunkDatagram(number, 1 + (number % 2)) },
        number * 10,
      );
      runUntil(core, number * 10);
    }
    runUntil(core, 1000);
    const chunks = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    expect(chunks).toEqual([]);
    expect(core.stats()).toMatchObject({
      role: 'liberated',
      chunksRelayed: 0,
      chunksFromSource: 0,
    });
    expect(core.stats().chunksPlayed).toBeGreaterThan(20);
  });

  it('relays its onboarding chunk once to every member and stays liberated', () => {
    const { core } = liberated();
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME, NON_EXCLUSIVE) }, 10);
    const relays = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    expect(relays.map(({ to }) => to.address)).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(core.stats()).toMatchObject({ role: 'liberated', onboardingChunks: 1 });
  });

  it('keeps its NAT open to each member with keepalives, as an external does', () => {
    const { core } = liberated();
    runUntil(core, 2 * EXTERNAL_KEEPALIVE_MILLIS);
    const keepalives = sent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'hello-ack' && message.nonce === 0,
    );
    expect(keepalives).toHaveLength(2 * 2);
  });

  it('a plain peer is refused nothing: the role option takes liberated, and rejects others', () => {
    expect(
      () => new PeerCore({ source: SOURCE, random: createRandom(3), role: 'liberated' }),
    ).not.toThrow();
    expect(
      () => new PeerCore({ source: SOURCE, random: createRandom(3), role: 'boss' as never }),
    ).toThrow(/'peer', 'monitor' or 'liberated'/);
  });
});
