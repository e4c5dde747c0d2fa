import { drainOutputs, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { chunkDatagram, joinedPeer, member, SOURCE, sent } from './joined-peer.test-helpers.js';

// Who the peer takes datagrams from: the source's members, and an external the source
// named, helloing from the port its NAT opened for us.

const NOTICED = { address: '192.0.2.9', port: 6001 };

describe('PeerCore and strangers', () => {
  it("learns an external the source named from its hello, at its NAT's port for us", () => {
    const { core } = joinedPeer();
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'external-peer', memberId: 9, endpoint: NOTICED }),
      },
      1,
    );
    drainOutputs(core);
    const here = { address: NOTICED.address, port: 6377 };
    core.handle(
      {
        type: 'datagram',
        from: here,
        bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 5 }),
      },
      2,
    );
    // Answered, and challenged: it gets relays once it echoes our nonce there.
    expect(sent(drainOutputs(core)).map(({ to, message }) => [to.port, message.type])).toEqual([
      [6377, 'hello'],
      [6377, 'hello-ack'],
    ]);
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 9)).toMatchObject({
      endpoint: here,
      verified: false,
    });
    // The same id from another address is a stranger: no reply.
    core.handle(
      {
        type: 'datagram',
        from: { address: '192.0.2.10', port: 6377 },
        bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 5 }),
      },
      3,
    );
    expect(sent(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped['bad-origin']).toBe(1);
  });

  it('keeps the schedule on what the source cuts: an LRS resend (an old chunk) does not anchor it', () => {
    // B = 64, 10 ms chunks from the accept's chunk 0 at 0 ms. Member 1 relays chunks 30 to
    // 44 on time; at 410 ms the source resends chunk 5 (every monitor lost it). Taken as
    // the source's newest chunk, it would put relays 30 chunks ahead of the schedule.
    const { core } = joinedPeer({ playoutDelayChunks: 4 }, { bufferSize: 64 });
    const relay = (number: number) =>
      core.handle(
        { type: 'datagram', from: member(1).endpoint, bytes: chunkDatagram(number, 1) },
        number * 10,
      );
    for (let number = 30; number < 41; number++) relay(number);
    const recovered = chunkDatagram(5, 3, { nonExclusive: false, recovered: true });
    core.handle({ type: 'datagram', from: SOURCE, bytes: recovered }, 410);
    for (let number = 41; number < 45; number++) relay(number);
    expect(core.stats().datagramsDropped['ahead-of-schedule']).toBe(0);
    expect(core.stats()).toMatchObject({ chunksLost: 0, playChunkNumber: 41 });
  });
});
