import {
  type ChunkFlags,
  type CoreOutput,
  createRandom,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  type JoinAccept,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  ANSWER_BURST_PER_REQUESTER,
  EXPECTED_SLACK_MIN_MILLIS,
  GRACE_CHUNKS,
  MAX_ATTEMPTS,
  REQUEST_BURST,
  RETRY_CHUNKS,
} from './chunk-repair.js';
import {
  accept as acceptWith,
  chunkDatagram,
  joinedPeer as joinPeer,
  ME,
  member,
  PLAIN,
  SOURCE,
  sent,
} from './joined-peer.test-helpers.js';
import type { PeerConfig } from './peer-config.js';
import { PeerCore } from './peer-core.js';

/**
 * RMS-lite repair, driven through the real PeerCore with scripted datagrams and a scripted
 * clock (sans-IO: nothing sleeps). Cluster: the source, us (5) and members 1-4 (listed by
 * the source, so verified). Chunk k comes from origin 1 + (k mod 4), as the source's round
 * robin gives them (rule 1).
 */

const INTERVAL = 10; // ms per chunk: chunkIntervalMicros 10,000
const RECOVERED: ChunkFlags = { nonExclusive: false, recovered: true };

const endpointOf = (memberId: number): Endpoint => member(memberId).endpoint;
const originOf = (chunkNumber: number): number => 1 + (chunkNumber % 4);

function accept(bufferSize: number): JoinAccept {
  return acceptWith({ bufferSize, header: new Uint8Array(0) });
}

function requestsIn(outputs: CoreOutput[]) {
  return sent(outputs).flatMap(({ to, message }) =>
    message.type === 'chunk-request' ? [{ to, ...message }] : [],
  );
}

function chunk(chunkNumber: number, origin = originOf(chunkNumber), flags = PLAIN): Uint8Array {
  return chunkDatagram(chunkNumber, origin, flags);
}

/** A peer that joined at t = 0 with buffer B (play-out delay B/2, relay spread B/4). */
function joinedPeer(bufferSize: number, config: Partial<PeerConfig> = {}) {
  return joinPeer(config, { bufferSize, header: new Uint8Array(0) }).core;
}

/** Chunk k arrives from its origin at k x INTERVAL ms; returns everything the core output. */
function relay(core: PeerCore, chunkNumber: number, at = chunkNumber * INTERVAL): CoreOutput[] {
  core.handle(
    { type: 'datagram', from: endpointOf(originOf(chunkNumber)), bytes: chunk(chunkNumber) },
    at,
  );
  return drainOutputs(core);
}

function plays(outputs: CoreOutput[]) {
  return outputs.flatMap((output) => (output.type === 'play' ? [output] : []));
}

// B = 40: play-out delay 20 chunks; 4 neighbours spread their relays over min(10, 5) = 5
// chunk intervals, so a chunk is overdue 5 + GRACE_CHUNKS = 7 chunks after it was due.
const B = 40;
const OVERDUE = 5 + GRACE_CHUNKS;

describe('RMS-lite repair: asking for a lost chunk', () => {
  it('asks the likely origin once the chunk is overdue, takes its answer, and plays it', () => {
    const core = joinedPeer(B);
    const outputs: CoreOutput[] = [];
    // Chunk 3 (origin 4) is lost on its way to us; 0-2 and 4 onwards arrive.
    for (let number = 0; number < 3 + OVERDUE; number++) {
      if (number !== 3) outputs.push(...relay(core, number));
    }
    expect(requestsIn(outputs)).toEqual([]);
    // One chunk more and chunk 3 is overdue: asked from origin 4 (origin of 3 +- 4, rule 1).
    const asked = requestsIn(relay(core, 3 + OVERDUE));
    expect(asked).toEqual([
      { to: endpointOf(4), type: 'chunk-request', memberId: ME, chunkNumber: 3 },
    ]);
    // Member 4 answers with the chunk flagged recovered: stored, and never relayed on.
    core.handle(
      { type: 'datagram', from: endpointOf(4), bytes: chunk(3, 4, RECOVERED) },
      (3 + OVERDUE) * INTERVAL + 3,
    );
    expect(sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk')).toEqual([]);
    const played: CoreOutput[] = [];
    for (let number = 3 + OVERDUE + 1; number <= 3 + 20; number++) {
      played.push(...relay(core, number));
    }
    const third = plays(played).find((play) => play.chunkNumber === 3);
    expect(third?.payload).toEqual(Uint8Array.of(3, 1, 2, 3));
    const stats = core.stats();
    expect(stats.chunksLost).toBe(0);
    expect(stats.repair).toMatchObject({ chunksRepaired: 1, repairRequestsSent: 1 });
    // Rule 7: the answer counts as a chunk received from member 4, like any other.
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 4)?.debt).toBeLessThan(0);
  });

  it('asks another neighbour after a timeout, at most MAX_ATTEMPTS, then gives up', () => {
    const core = joinedPeer(B);
    for (let number = 0; number <= 3 + OVERDUE; number++) if (number !== 3) relay(core, number);
    let now = (3 + OVERDUE) * INTERVAL;
    expect(core.stats().repair.repairRequestsSent).toBe(1);
    const askedOf = [4];
    // Nobody answers: the core's own timeout brings each retry, RETRY_CHUNKS intervals apart.
    for (let attempt = 2; attempt <= MAX_ATTEMPTS + 1; attempt++) {
      const at = core.pollTimeout();
      expect(at).toBeDefined();
      expect(at!).toBeGreaterThanOrEqual(now + RETRY_CHUNKS * INTERVAL);
      now = at!;
      core.handleTimeout(now);
      const asked = requestsIn(drainOutputs(core));
      if (attempt <= MAX_ATTEMPTS) {
        expect(asked).toHaveLength(1);
        expect(asked[0]?.chunkNumber).toBe(3);
        askedOf.push(Number(asked[0]?.to.address.split('.')[3]));
      } else {
        expect(asked).toEqual([]);
      }
    }
    // Three different neighbours, never us, never the same one twice.
    expect(new Set(askedOf).size).toBe(MAX_ATTEMPTS);
    expect(askedOf).not.toContain(ME);
    expect(core.stats().repair).toMatchObject({
      repairRequestsSent: MAX_ATTEMPTS,
      repairsFailed: 1,
    });
  });

  it('keeps to the request budget when many chunks are missing at once', () => {
    // B = 64: delay 32, nothing played before chunk 32 arrives.
    const core = joinedPeer(64);
    relay(core, 0, 0);
    // Chunks 1-28 are all lost: 29 - OVERDUE = 22 of them are overdue at once, asked for
    // GRACE_CHUNKS intervals after chunk 29 showed the gap.
    expect(requestsIn(relay(core, 29, 100))).toEqual([]);
    const start = 100 + GRACE_CHUNKS * INTERVAL;
    expect(core.pollTimeout()).toBe(start);
    core.handleTimeout(start);
    const burst = requestsIn(drainOutputs(core));
    expect(burst).toHaveLength(REQUEST_BURST);
    expect(burst.map((request) => request.chunkNumber)).toEqual(
      Array.from({ length: REQUEST_BURST }, (_, index) => index + 1),
    );
    expect(core.stats().repair.repairRequestsDeferred).toBeGreaterThan(0);
    // One more token per chunk interval (REQUESTS_PER_INTERVAL = 1).
    core.handleTimeout(start + INTERVAL);
    const next = requestsIn(drainOutputs(core));
    expect(next.map((request) => request.chunkNumber)).toEqual([REQUEST_BURST + 1]);
  });

  it("asks as soon as the origin's own pace says the chunk is late, before it is overdue", () => {
    const core = joinedPeer(B);
    // Origin 4 sent chunks 3 and 7 at 30 and 70 ms: chunk 11 is due at 110 ms, asked for
    // EXPECTED_SLACK_MIN_MILLIS (20 ms > one 10 ms interval) later; it is lost.
    for (let number = 0; number <= 12; number++) if (number !== 11) relay(core, number);
    const due = 110 + EXPECTED_SLACK_MIN_MILLIS;
    expect(core.pollTimeout()).toBeLessThanOrEqual(due);
    let now = core.pollTimeout()!;
    while (now < due) {
      core.handleTimeout(now);
      expect(requestsIn(drainOutputs(core))).toEqual([]);
      now = core.pollTimeout()!;
    }
    core.handleTimeout(due);
    expect(requestsIn(drainOutputs(core))).toEqual([
      { to: endpointOf(4), type: 'chunk-request', memberId: ME, chunkNumber: 11 },
    ]);
    // The rule without a pace would have waited for chunk 11 + OVERDUE.
    expect(due).toBeLessThan((11 + OVERDUE) * INTERVAL);
  });

  it('asks the source for its own chunk lost on the source hop, with repairFromSource', () => {
    // Five members in the round robin, chunk k from 1 + (k mod 5); 5 is us (not a monitor),
    // fed by the source directly. Chunk 9, ours, is lost on the source's hop to us.
    const members = [member(ME), member(1, true), member(2), member(3), member(4)];
    const asked = (config: Partial<PeerConfig>) => {
      const core = joinPeer(config, { bufferSize: B, header: new Uint8Array(0), members }).core;
      const outputs: CoreOutput[] = [];
      for (let number = 0; number <= 9 + 15; number++) {
        if (number === 9) continue;
        const origin = 1 + (number % 5);
        const from = origin === ME ? SOURCE : endpointOf(origin);
        core.handle({ type: 'datagram', from, bytes: chunk(number, origin) }, number * INTERVAL);
        outputs.push(...drainOutputs(core));
      }
      return requestsIn(outputs);
    };
    // No answer (nobody plays the source here): asked again, MAX_ATTEMPTS in all.
    expect(asked({ repairFromSource: true })).toEqual(
      Array.from({ length: MAX_ATTEMPTS }, () => ({
        to: SOURCE,
        type: 'chunk-request',
        memberId: ME,
        chunkNumber: 9,
      })),
    );
    // Without it nobody is asked: no neighbour ever had the chunk.
    expect(asked({})).toEqual([]);
  });

  it('sends nothing with repair off', () => {
    const core = joinedPeer(B, { repair: false });
    const outputs: CoreOutput[] = [];
    for (let number = 0; number <= 3 + 20; number++) {
      if (number !== 3) outputs.push(...relay(core, number));
    }
    expect(requestsIn(outputs)).toEqual([]);
    expect(core.stats().chunksLost).toBe(1);
    expect(core.stats().repair.repairRequestsSent).toBe(0);
  });
});

describe('RMS-lite repair: a monitor and the source hop', () => {
  it('complains at once about a chunk the source never gave it, asks nobody, complains once', () => {
    // We are the monitor: delay 3B/8 = 15 with repair. Five members in the round robin,
    // chunk k from 1 + (k mod 5); 5 is us, fed by the source directly.
    const core = new PeerCore({ source: SOURCE, random: createRandom(3), role: 'monitor' });
    core.handleTimeout(0);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
    const listed = {
      ...accept(B),
      members: [member(ME, true), member(1), member(2), member(3), member(4)],
    };
    core.handle({ type: 'connection-data', connection: -1, bytes: encodeFrame(listed) }, 0);
    drainOutputs(core);
    expect(core.monitor).toBe(true);
    const roundRobin = (number: number) => 1 + (number % 5);
    const outputs: CoreOutput[] = [];
    // Chunk 9 (ours, from the source) is lost on the source's hop to us.
    for (let number = 0; number <= 9 + 15; number++) {
      if (number === 9) continue;
      const origin = roundRobin(number);
      const from = origin === ME ? SOURCE : endpointOf(origin);
      core.handle({ type: 'datagram', from, bytes: chunk(number, origin) }, number * INTERVAL);
      outputs.push(...drainOutputs(core));
    }
    const complaints = sent(outputs).filter(({ message }) => message.type === 'lost-chunk');
    expect(complaints).toEqual([
      { to: SOURCE, message: { type: 'lost-chunk', memberId: ME, chunkNumber: 9 } },
    ]);
    expect(requestsIn(outputs)).toEqual([]);
    // Played as lost at its turn, without a second complaint.
    expect(plays(outputs).find((play) => play.chunkNumber === 9)?.payload).toBeNull();
    expect(core.stats().repair.repairsFailed).toBe(1);
  });
});

describe('RMS-lite repair: answering requests', () => {
  function request(from: Endpoint, memberId: number, chunkNumber: number) {
    return {
      type: 'datagram' as const,
      from,
      bytes: encodeDatagram({ type: 'chunk-request', memberId, chunkNumber }),
    };
  }

  it('answers a verified neighbour from the buffer, flagged recovered, not charged to its debt', () => {
    const core = joinedPeer(B);
    for (let number = 0; number < 6; number++) relay(core, number);
    const debtBefore = core.neighbours().find((neighbour) => neighbour.memberId === 2)?.debt;
    core.handle(request(endpointOf(2), 2, 4), 60);
    const answers = sent(drainOutputs(core));
    expect(answers).toEqual([
      {
        to: endpointOf(2),
        message: {
          type: 'chunk',
          chunkNumber: 4,
          origin: originOf(4),
          flags: RECOVERED,
          payload: Uint8Array.of(4, 1, 2, 3),
          signature: new Uint8Array(0),
        },
      },
    ]);
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 2)?.debt).toBe(debtBefore);
    // A chunk we do not hold: no answer, counted.
    core.handle(request(endpointOf(2), 2, 30), 61);
    expect(sent(drainOutputs(core))).toEqual([]);
    expect(core.stats().repair).toMatchObject({
      repairRequestsReceived: 2,
      repairRequestsAnswered: 1,
      repairRequestsUnavailable: 1,
    });
  });

  it('drops and counts requests from non-members and requests in another member’s name', () => {
    const core = joinedPeer(B);
    for (let number = 0; number < 6; number++) relay(core, number);
    core.handle(request({ address: '10.9.9.9', port: 5000 }, 2, 4), 60);
    core.handle(request(endpointOf(3), 2, 4), 61);
    expect(sent(drainOutputs(core))).toEqual([]);
    const stats = core.stats();
    expect(stats.datagramsDropped['non-member']).toBe(1);
    expect(stats.datagramsDropped['bad-origin']).toBe(1);
    expect(stats.repair.repairRequestsReceived).toBe(0);
  });

  it('rate-limits the answers to one requester', () => {
    const core = joinedPeer(B);
    for (let number = 0; number < 6; number++) relay(core, number);
    for (let copy = 0; copy < 10; copy++) core.handle(request(endpointOf(2), 2, 5), 60);
    const answers = sent(drainOutputs(core)).filter(({ message }) => message.type === 'chunk');
    expect(answers).toHaveLength(ANSWER_BURST_PER_REQUESTER);
    expect(core.stats().repair.repairRequestsRefused).toBe(10 - ANSWER_BURST_PER_REQUESTER);
    // Another requester has its own budget.
    core.handle(request(endpointOf(3), 3, 5), 60);
    expect(sent(drainOutputs(core))).toHaveLength(1);
  });

  it('with repair off, a chunk-request is dropped as unexpected', () => {
    const core = joinedPeer(B, { repair: false });
    for (let number = 0; number < 6; number++) relay(core, number);
    core.handle(request(endpointOf(2), 2, 4), 60);
    expect(sent(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped.unexpected).toBe(1);
  });

  it('refuses a repair option that is not a boolean', () => {
    expect(
      () => new PeerCore({ source: SOURCE, random: createRandom(1), repair: 'yes' as never }),
    ).toThrow(/repair must be true or false/);
  });
});
