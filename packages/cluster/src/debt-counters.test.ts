import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DebtCounters } from './debt-counters.js';

describe('DebtCounters (rule 7)', () => {
  it('drops a neighbour that relays nothing once its debt passes 32', () => {
    const debts = new DebtCounters<number>();
    const charges = Array.from({ length: 33 }, () => debts.sent(7));
    expect(charges.slice(0, 32).every((charge) => !charge.overThreshold)).toBe(true);
    expect(charges[32]).toEqual({ debt: 33, overThreshold: true, exempt: false });
    expect(debts.overThreshold()).toEqual([7]);
  });

  it('never drops a neighbour that relays one chunk per round, whatever the order', () => {
    // Rule 2: each round I relay my chunk to it and it relays its chunk to me; losses and
    // reordering shift which comes first, so the debt wanders but stays bounded.
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 500 }), (sendFirst) => {
        const debts = new DebtCounters<string>();
        for (const first of sendFirst) {
          if (first) {
            if (debts.sent('n').overThreshold) return false;
            debts.received('n');
          } else {
            debts.received('n');
            if (debts.sent('n').overThreshold) return false;
          }
        }
        return Math.abs(debts.debt('n')) <= 1 && debts.overThreshold().length === 0;
      }),
    );
  });

  it('caps credit at the floor, so past relays cannot pay for later free riding', () => {
    const debts = new DebtCounters<string>({ threshold: 4 });
    for (let index = 0; index < 100; index++) debts.received('n');
    expect(debts.debt('n')).toBe(-4);
    const charges = Array.from({ length: 9 }, () => debts.sent('n'));
    expect(charges.map((charge) => charge.overThreshold).indexOf(true)).toBe(8);
  });

  it('never charges an external peer (seed 000)', () => {
    const debts = new DebtCounters<string>({ threshold: 2 });
    debts.sent('external');
    debts.exempt('external');
    for (let index = 0; index < 100; index++) {
      expect(debts.sent('external')).toEqual({ debt: 0, overThreshold: false, exempt: true });
    }
    expect(debts.isExempt('external')).toBe(true);
    expect(debts.overThreshold()).toEqual([]);
    debts.remove('external');
    expect(debts.isExempt('external')).toBe(false);
  });

  it('forgets removed neighbours and names bad options', () => {
    const debts = new DebtCounters<string>();
    debts.sent('a');
    debts.remove('a');
    expect(debts.size).toBe(0);
    expect(debts.debt('a')).toBe(0);
    expect(() => new DebtCounters({ threshold: 1.5 })).toThrow(/threshold/);
    expect(() => new DebtCounters({ floor: 3 })).toThrow(/floor/);
  });
});
