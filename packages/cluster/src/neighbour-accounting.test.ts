import { describe, expect, it } from 'vitest';
import { livenessTimeout } from './liveness.js';
import { NeighbourAccounting, type NeighbourDrop } from './neighbour-accounting.js';

/**
 * One peer's view of a cluster of 10 others, B = 32, 10 ms chunks. Every round the peer
 * relays its source chunk to everyone (rule 2), and each neighbour relays its chunk to the
 * peer, except the free rider (never) and the crashed ones (after they crash). The external
 * peer is fed and sends nothing (seed 000).
 */
describe('NeighbourAccounting', () => {
  it('drops the free rider for debt and the crashed for silence, within 2B, and nobody else', () => {
    const bufferSize = 32;
    const interval = 10;
    const accounting = new NeighbourAccounting<string>({
      livenessTimeout: livenessTimeout({ bufferSize, chunkIntervalMillis: interval }),
    });
    const honest = ['a', 'b', 'c', 'd', 'e', 'f'];
    const crashed = ['x', 'y', 'z'];
    const crashAt = 500;
    for (const neighbour of [...honest, ...crashed, 'free-rider']) accounting.add(neighbour, 0);
    accounting.add('external', 0, { external: true });
    const drops: (NeighbourDrop<string> & { at: number })[] = [];
    const round = 11 * interval;
    for (let now = 0; now < 60 * round; now += interval) {
      const slot = (now / interval) % 11;
      if (slot === 0) {
        // Our chunk from the source: relayed to every neighbour we still have.
        for (const neighbour of accounting.neighbours()) {
          const drop = accounting.sent(neighbour);
          if (drop !== undefined) drops.push({ ...drop, at: now });
        }
      } else {
        const speaker = [...honest, ...crashed][slot - 1];
        if (speaker !== undefined && !(crashed.includes(speaker) && now >= crashAt)) {
          accounting.received(speaker, now);
        }
      }
      for (const drop of accounting.expireSilent(now)) drops.push({ ...drop, at: now });
    }
    expect(drops.map((drop) => [drop.neighbour, drop.reason])).toEqual(
      expect.arrayContaining([
        ['x', 'timeout'],
        ['y', 'timeout'],
        ['z', 'timeout'],
      ]),
    );
    expect(drops).toHaveLength(4);
    const freeRider = drops.find((drop) => drop.neighbour === 'free-rider');
    // The free rider is silent too; whichever comes first drops it: here silence (B chunk
    // times) beats debt (33 rounds).
    expect(freeRider?.reason).toBe('timeout');
    for (const drop of drops.filter((drop) => crashed.includes(drop.neighbour))) {
      expect(drop.at - crashAt).toBeLessThanOrEqual(2 * bufferSize * interval);
    }
    expect(accounting.neighbours()).toEqual([...honest, 'external']);
    expect(accounting.isExternal('external')).toBe(true);
    expect(accounting.debts.debt('external')).toBe(0);
  });

  it('drops a neighbour that says hello but relays nothing once its debt passes 32', () => {
    const accounting = new NeighbourAccounting<number>({ livenessTimeout: 1000 });
    accounting.add(7, 0);
    let drop: NeighbourDrop<number> | undefined;
    let rounds = 0;
    while (drop === undefined && rounds < 100) {
      rounds++;
      accounting.heard(7, rounds * 10); // its hellos keep it alive...
      drop = accounting.sent(7); // ...but it never relays
    }
    expect(drop).toEqual({ neighbour: 7, reason: 'debt', debt: 33 });
    expect(rounds).toBe(33);
    expect(accounting.has(7)).toBe(false);
    expect(accounting.sent(7)).toBeUndefined();
  });

  it('tracks the next liveness deadline, ignoring externals; none without a timeout', () => {
    const accounting = new NeighbourAccounting<string>({ livenessTimeout: 100 });
    accounting.add('a', 10);
    accounting.add('b', 20);
    accounting.add('e', 0, { external: true });
    expect(accounting.nextDeadline()).toBe(110);
    accounting.heard('a', 50);
    expect(accounting.nextDeadline()).toBe(120);
    accounting.remove('b');
    expect(accounting.nextDeadline()).toBe(150);
    expect(new NeighbourAccounting().nextDeadline()).toBeUndefined();
    expect(new NeighbourAccounting().expireSilent(10 ** 9)).toEqual([]);
    expect(() => new NeighbourAccounting({ livenessTimeout: -1 })).toThrow(/livenessTimeout/);
  });

  it('lists the neighbours silent for a while, externals never', () => {
    const accounting = new NeighbourAccounting<string>();
    accounting.add('a', 0);
    accounting.add('b', 0);
    accounting.add('c', 0, { external: true });
    accounting.heard('b', 40);
    expect(accounting.silent(50, 30)).toEqual(['a']);
    expect(accounting.silent(70, 30)).toEqual(['a', 'b']);
  });
});
