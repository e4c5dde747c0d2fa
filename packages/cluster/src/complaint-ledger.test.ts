import { createRandom, type Endpoint, type MemberId } from '@p2psp/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkDestinations } from './chunk-destinations.js';
import { ChunkScheduler } from './chunk-scheduler.js';
import {
  type ComplaintKeying,
  ComplaintLedger,
  type ComplaintWindow,
  recommendedChunkWindow,
} from './complaint-ledger.js';
import { chooseExpulsions } from './expulsion.js';
import { type MemberRole, MembershipTable } from './membership.js';

const at = (address: string, port: number): Endpoint => ({ address, port });
/** 64 ms: 1,024-byte chunks at 128 kbit/s, where P2PSP's counts hold. */
const position = (latestChunkNumber: number, now = 0, chunkIntervalMillis = 64) => ({
  now,
  latestChunkNumber,
  chunkIntervalMillis,
});

function smallCluster(options: ConstructorParameters<typeof ComplaintLedger>[0] = {}) {
  const members = new MembershipTable();
  const monitor = members.add({ role: 'monitor', endpoint: at('10.0.0.1', 4000), now: 0 });
  const peer = members.add({ role: 'member', endpoint: at('10.0.0.2', 4000), now: 0 });
  const external = members.add({ role: 'external', endpoint: at('10.0.0.3', 4000), now: 0 });
  const destinations = new ChunkDestinations(8);
  const ledger = new ComplaintLedger(options);
  return { members, monitor, peer, external, destinations, ledger };
}

describe('ComplaintLedger.complain', () => {
  it('charges a monitor complaint to the member chunk x was sent to (rule 8)', () => {
    const { members, monitor, peer, destinations, ledger } = smallCluster();
    destinations.record(100, peer.memberId);
    const outcome = ledger.complain(
      { from: monitor.endpoint, chunkNumber: 100 },
      { members, destinations, position: position(100) },
    );
    expect(outcome).toEqual({
      kind: 'charged',
      chunkNumber: 100,
      complainer: monitor.memberId,
      memberId: peer.memberId,
      key: 'endpoint 10.0.0.2:4000',
      count: 1,
      overThreshold: false,
    });
    expect(members.get(peer.memberId)?.complaints).toBe(1);
    expect(ledger.charged).toBe(1);
  });

  it('ignores and counts complaints it must not charge, one reason each', () => {
    const { members, monitor, peer, external, destinations, ledger } = smallCluster();
    const context = { members, destinations, position: position(10) };
    destinations.record(1, peer.memberId);
    destinations.record(2, external.memberId);
    destinations.record(3, 99); // a member that has left
    destinations.record(12, peer.memberId); // reuses the slot of chunk 4: 4 is now unknown
    const cases: [Endpoint, number, string][] = [
      [at('192.0.2.1', 1), 1, 'unknown-complainer'],
      [peer.endpoint, 1, 'not-monitor'],
      [monitor.endpoint, 4, 'unknown-chunk'],
      [monitor.endpoint, 7, 'unknown-chunk'],
      [monitor.endpoint, 2, 'exempt-member'],
      [monitor.endpoint, 3, 'member-gone'],
    ];
    for (const [from, chunkNumber, reason] of cases) {
      expect(ledger.complain({ from, chunkNumber }, context)).toMatchObject({
        kind: 'ignored',
        chunkNumber,
        reason,
      });
    }
    expect(ledger.complain({ from: monitor.endpoint, chunkNumber: 1 }, context).kind).toBe(
      'charged',
    );
    // A second monitor (or a repeat) about the same chunk: one lost chunk costs one complaint.
    expect(ledger.complain({ from: monitor.endpoint, chunkNumber: 1 }, context)).toMatchObject({
      kind: 'ignored',
      reason: 'duplicate',
    });
    expect(ledger.ignored).toEqual({
      'unknown-complainer': 1,
      'not-monitor': 1,
      'unknown-chunk': 2,
      duplicate: 1,
      'member-gone': 1,
      'exempt-member': 1,
    });
    expect(members.get(peer.memberId)?.complaints).toBe(1);
  });

  it('expels past the threshold, not at it (P2PSP: more than 32 lost chunks)', () => {
    const { members, monitor, peer, destinations, ledger } = smallCluster({ threshold: 3 });
    const outcomes = [1, 2, 3, 4].map((chunkNumber) => {
      destinations.record(chunkNumber, peer.memberId);
      return ledger.complain(
        { from: monitor.endpoint, chunkNumber },
        { members, destinations, position: position(chunkNumber) },
      );
    });
    expect(outcomes.map((outcome) => outcome.kind === 'charged' && outcome.overThreshold)).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(chooseExpulsions(ledger, members, position(4))).toEqual([
      { memberId: peer.memberId, key: 'endpoint 10.0.0.2:4000', complaints: 4, reason: 'expelled' },
    ]);
  });

  it('never charges a monitor by default (trusted), unless told to', () => {
    const trusting = smallCluster();
    trusting.destinations.record(5, trusting.monitor.memberId);
    expect(
      trusting.ledger.complain(
        { from: trusting.monitor.endpoint, chunkNumber: 5 },
        { members: trusting.members, destinations: trusting.destinations, position: position(5) },
      ),
    ).toMatchObject({ kind: 'ignored', reason: 'exempt-member' });
    const strict = smallCluster({ exemptRoles: ['external', 'liberated'] });
    strict.destinations.record(5, strict.monitor.memberId);
    expect(
      strict.ledger.complain(
        { from: strict.monitor.endpoint, chunkNumber: 5 },
        { members: strict.members, destinations: strict.destinations, position: position(5) },
      ),
    ).toMatchObject({ kind: 'charged', memberId: strict.monitor.memberId });
  });

  it('refuses bad options with the option named', () => {
    expect(() => new ComplaintLedger({ threshold: -1 })).toThrow(/threshold/);
    expect(() => new ComplaintLedger({ window: { kind: 'chunk-numbers', size: 0 } })).toThrow(
      /window.size/,
    );
    expect(() => new ComplaintLedger({ exemptRoles: ['guest' as MemberRole] })).toThrow(
      /exemptRoles/,
    );
    expect(() => new ComplaintLedger({ keying: 'port' as ComplaintKeying })).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_INVALID_OPTION' }),
    );
    expect(() => new ComplaintLedger({ keying: 'port' as ComplaintKeying })).toThrow(
      "keying must be 'endpoint' or 'ip', got port",
    );
    expect(
      () => new ComplaintLedger({ window: { kind: 'blocks' } as unknown as ComplaintWindow }),
    ).toThrow(
      "window.kind must be 'chunk-numbers', 'stream-time', 'time' or 'unbounded', got blocks",
    );
  });
});

describe('ComplaintLedger windows', () => {
  it('counts complaints about the last W chunk numbers, across the 32-bit wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        (start, gaps, size) => {
          const ledger = new ComplaintLedger({ window: { kind: 'chunk-numbers', size } });
          let offset = 0;
          const offsets: number[] = [];
          for (const gap of gaps) {
            offset += gap;
            offsets.push(offset);
            ledger.charge('key', (start + offset) >>> 0, position((start + offset) >>> 0));
          }
          const latest = offset;
          const expected = offsets.filter((value) => latest - value < size).length;
          return ledger.count('key', position((start + latest) >>> 0)) === expected;
        },
      ),
    );
  });

  it('counts complaints of the last W milliseconds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 1000 }),
        (gaps, milliseconds) => {
          const ledger = new ComplaintLedger({ window: { kind: 'time', milliseconds } });
          let now = 0;
          const times: number[] = [];
          gaps.forEach((gap, index) => {
            now += gap;
            times.push(now);
            ledger.charge('key', index, position(index, now));
          });
          const expected = times.filter((time) => now - time < milliseconds).length;
          return ledger.count('key', position(gaps.length, now)) === expected;
        },
      ),
    );
  });

  it('keeps every complaint with an unbounded window (P2PSP counters), until forgotten', () => {
    const ledger = new ComplaintLedger({ window: { kind: 'unbounded' } });
    for (let chunkNumber = 0; chunkNumber < 100; chunkNumber++) {
      ledger.charge('key', chunkNumber * 1000, position(chunkNumber * 1000, chunkNumber));
    }
    expect(ledger.count('key', position(10 ** 9, 10 ** 9))).toBe(100);
    ledger.forget('key');
    expect(ledger.count('key', position(0))).toBe(0);
    expect(ledger.keys()).toEqual([]);
  });

  it('prune drops keys whose complaints all left the window', () => {
    const ledger = new ComplaintLedger({ window: { kind: 'chunk-numbers', size: 10 } });
    ledger.charge('old', 1, position(1));
    ledger.charge('new', 50, position(50));
    ledger.prune(position(55));
    expect(ledger.keys()).toEqual(['new']);
  });

  it('recommends a window a free rider fills past the threshold', () => {
    expect(recommendedChunkWindow(50)).toEqual({ kind: 'chunk-numbers', size: 33 * 50 * 2 });
  });
});

/**
 * A source with one monitor, honest members losing 1% of their relays and one free rider
 * behind a symmetric NAT (public IP 203.0.113.7). The free rider knows the threshold: it
 * rejoins after every 20 chunks it is given, and its NAT maps each new socket to a new
 * public port, so the source sees a new endpoint each time (seed 000).
 */
function runSymmetricNatFreeRider(
  keying: ComplaintKeying,
  honestNeighbourOfFreeRider: boolean,
  rejoinEvery: number | null = 20,
): { expelled: string[]; freeRiderIncarnations: number } {
  const random = createRandom(7);
  const members = new MembershipTable();
  const destinations = new ChunkDestinations(64);
  const window: ComplaintWindow = { kind: 'chunk-numbers', size: 4096 };
  const ledger = new ComplaintLedger({ keying, window, threshold: 32 });
  const scheduler = new ChunkScheduler();
  const monitor = members.add({ role: 'monitor', endpoint: at('10.0.0.1', 4000), now: 0 });
  scheduler.add(monitor.memberId);
  const honest = new Set<MemberId>();
  for (let index = 2; index <= 9; index++) {
    const member = members.add({ role: 'member', endpoint: at(`10.0.0.${index}`, 4000), now: 0 });
    honest.add(member.memberId);
    scheduler.add(member.memberId);
  }
  if (honestNeighbourOfFreeRider) {
    const member = members.add({ role: 'member', endpoint: at('203.0.113.7', 5000), now: 0 });
    honest.add(member.memberId);
    scheduler.add(member.memberId);
  }
  let freeRiderPort = 40000;
  let freeRiderIncarnations = 0;
  let freeRider: MemberId | undefined;
  let given = 0;
  const joinFreeRider = (now: number) => {
    freeRiderPort += 1;
    freeRiderIncarnations++;
    const member = members.add({
      role: 'member',
      endpoint: at('203.0.113.7', freeRiderPort),
      nat: { type: 'symmetric-random', portStep: 0, mappedEndpoint: null },
      now,
    });
    freeRider = member.memberId;
    scheduler.add(member.memberId);
    given = 0;
  };
  joinFreeRider(0);
  const expelled: string[] = [];
  for (let chunkNumber = 0; chunkNumber < 6000; chunkNumber++) {
    const now = chunkNumber * 10;
    const destination = scheduler.next();
    if (destination === undefined) break;
    destinations.record(chunkNumber, destination);
    const lost =
      destination === freeRider
        ? true
        : destination !== monitor.memberId && honest.has(destination) && random.next() < 0.01;
    if (lost) {
      ledger.complain(
        { from: monitor.endpoint, chunkNumber },
        { members, destinations, position: position(chunkNumber, now) },
      );
    }
    for (const expulsion of chooseExpulsions(ledger, members, position(chunkNumber, now))) {
      const removal = members.remove(expulsion.memberId, 'expelled', now);
      scheduler.remove(expulsion.memberId);
      honest.delete(expulsion.memberId);
      if (removal !== undefined) {
        expelled.push(
          expulsion.memberId === freeRider
            ? 'free-rider'
            : `honest ${removal.member.endpoint.address}`,
        );
      }
      if (expulsion.memberId === freeRider) freeRider = undefined;
    }
    if (destination === freeRider && rejoinEvery !== null && ++given === rejoinEvery) {
      members.remove(freeRider, 'leaving', now);
      scheduler.remove(freeRider);
      joinFreeRider(now);
    }
  }
  return { expelled, freeRiderIncarnations };
}

describe('complaint keying against a free rider behind a symmetric NAT (seed 000)', () => {
  it('keying by endpoint catches a free rider that keeps its endpoint', () => {
    const run = runSymmetricNatFreeRider('endpoint', false, null);
    expect(run.expelled).toEqual(['free-rider']);
  });

  it('keying by endpoint misses it: each new public port starts a clean record', () => {
    const run = runSymmetricNatFreeRider('endpoint', false);
    expect(run.freeRiderIncarnations).toBeGreaterThan(10);
    expect(run.expelled).toEqual([]);
  });

  it('keying by IP catches it, and no honest member is expelled', () => {
    const run = runSymmetricNatFreeRider('ip', false);
    expect(run.expelled).toEqual(['free-rider']);
  });

  it('keying by IP punishes an honest peer behind the same NAT too (the documented cost)', () => {
    const run = runSymmetricNatFreeRider('ip', true);
    expect(run.expelled).toContain('free-rider');
    expect(run.expelled).toContain('honest 203.0.113.7');
  });
});
