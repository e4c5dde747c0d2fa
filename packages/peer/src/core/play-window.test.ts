import { type CoreOutput, drainOutputs, type Endpoint } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { chunkDatagram, joinedPeer, member, SOURCE } from './joined-peer.test-helpers.js';
import type { PeerCore } from './peer-core.js';

// The play window against datagrams that claim to be ahead of the stream: play-out goes by
// our clock and the source's chunk rate (the accept's interval, 10 ms here, anchored on the
// source's chunks), never by the newest chunk number anybody sent.

function fromMember(memberId: number): Endpoint {
  return member(memberId).endpoint;
}

function plays(outputs: CoreOutput[]): { chunkNumber: number; lost: boolean }[] {
  return outputs.flatMap((output) =>
    output.type === 'play'
      ? [{ chunkNumber: output.chunkNumber, lost: output.payload === null }]
      : [],
  );
}

/** Member 1 relays chunks `from`..`to` - 1, each at its time on the schedule (10 ms). */
function relayOnSchedule(core: PeerCore, from: number, to: number) {
  const played: { chunkNumber: number; lost: boolean }[] = [];
  for (let number = from; number < to; number++) {
    core.handle(
      { type: 'datagram', from: fromMember(1), bytes: chunkDatagram(number, 1) },
      number * 10,
    );
    played.push(...plays(drainOutputs(core)));
  }
  return played;
}

describe('PeerCore play window (a window no datagram can move)', () => {
  it('drops a chunk numbered far ahead of the schedule, and skips nothing', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 4 }, { bufferSize: 64 });
    const before = relayOnSchedule(core, 0, 10);
    // Inside the window (B = 64) but 30 chunks beyond what the source has cut by now.
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunkDatagram(40, 2) }, 95);
    expect(plays(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped['ahead-of-schedule']).toBe(1);
    const after = relayOnSchedule(core, 10, 30);
    const all = [...before, ...after];
    expect(all.map((play) => play.chunkNumber)).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(all.some((play) => play.lost)).toBe(false);
    expect(core.stats()).toMatchObject({ chunksLost: 0, playChunkNumber: 26 });
  });

  it('does not play early for a chunk ahead of the schedule within the tolerance', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 4 }, { bufferSize: 64 });
    relayOnSchedule(core, 0, 10);
    expect(core.stats().playChunkNumber).toBe(6);
    // Chunk 20 at 95 ms: within the tolerance (25 chunks of 10 ms), so kept for later, but
    // play-out still goes by the schedule (chunk 9 is the newest the source cut).
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunkDatagram(20, 2) }, 95);
    expect(plays(drainOutputs(core))).toEqual([]);
    expect(core.stats().playChunkNumber).toBe(6);
    const after = relayOnSchedule(core, 10, 30);
    expect(after.every((play) => !play.lost)).toBe(true);
    expect(core.stats()).toMatchObject({ chunksLost: 0, chunksDuplicated: 1 });
  });

  it("follows the source's chunks when the stream runs faster than the accept announced", () => {
    // The accept announced 10 ms; chunks come every 5 ms. Member 1 relays every chunk and
    // the source sends us one in four: each one re-anchors the schedule.
    const { core } = joinedPeer({ playoutDelayChunks: 4, debtThreshold: 1000 }, { bufferSize: 64 });
    for (let number = 0; number < 200; number++) {
      const from = number % 4 === 0 ? SOURCE : fromMember(1);
      core.handle(
        { type: 'datagram', from, bytes: chunkDatagram(number, from === SOURCE ? 5 : 1) },
        number * 5,
      );
      drainOutputs(core);
    }
    expect(core.stats()).toMatchObject({ chunksLost: 0, playChunkNumber: 196 });
    expect(core.stats().datagramsDropped['ahead-of-schedule']).toBe(0);
  });

  it("drops relays that run ahead of the accept's schedule when no source chunk anchors it", () => {
    // The same faster stream, relays only: after 250 ms of tolerance (and 5% of rate slack)
    // the relays are ahead of anything the schedule allows.
    const { core } = joinedPeer({ playoutDelayChunks: 4 }, { bufferSize: 64 });
    for (let number = 0; number < 60; number++) {
      core.handle(
        { type: 'datagram', from: fromMember(1), bytes: chunkDatagram(number, 1) },
        number * 5,
      );
    }
    expect(core.stats().datagramsDropped['ahead-of-schedule']).toBeGreaterThan(0);
  });

  it('credits a neighbour only for chunks new to us: an echo of our relay earns nothing', () => {
    const { core } = joinedPeer({ debtThreshold: 1000 }, { bufferSize: 64 });
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, 5) }, 0);
    core.handleTimeout(100);
    drainOutputs(core);
    const debtOf = (memberId: number) =>
      core.neighbours().find((neighbour) => neighbour.memberId === memberId)?.debt;
    expect(debtOf(1)).toBe(1);
    // Member 1 sends our own chunk back, three times: still in debt.
    for (let copy = 0; copy < 3; copy++) {
      core.handle(
        { type: 'datagram', from: fromMember(1), bytes: chunkDatagram(0, 5) },
        101 + copy,
      );
    }
    expect(debtOf(1)).toBe(1);
    expect(core.stats().chunksDuplicated).toBe(3);
    // A chunk we did not have pays it back.
    core.handle({ type: 'datagram', from: fromMember(1), bytes: chunkDatagram(1, 1) }, 110);
    expect(debtOf(1)).toBe(0);
  });
});
