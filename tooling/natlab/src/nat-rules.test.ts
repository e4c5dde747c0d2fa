import { describe, expect, test } from 'vitest';
import { NAT_TYPES, type NatRulesOptions, natRules, sequentialPort } from './nat-rules.js';

const base: NatRulesOptions = {
  natType: 'port-restricted-cone',
  wanAddress: '203.0.113.2',
  wanInterface: 'wan',
  lanInterface: 'lan',
  lanPrefix: '10.0.1.0/24',
  hostAddresses: ['10.0.1.2', '10.0.1.10'],
  sequentialStep: 2,
  mappingTimeoutSeconds: 120,
};

describe('natRules', () => {
  test('every type replaces the whole table and drops unsolicited inbound packets', () => {
    for (const natType of NAT_TYPES) {
      const rules = natRules({ ...base, natType });
      expect(rules.startsWith('table ip natlab\ndelete table ip natlab\n')).toBe(true);
      expect(rules).toContain('iifname "wan" oifname "lan" drop');
      expect(rules).toContain('iifname "wan" drop');
    }
  });

  test('only the cone types forward to existing mappings, and only restricted cone checks the sender', () => {
    expect(natRules({ ...base, natType: 'full-cone' })).toContain(
      'dnat ip to udp dport map @cone_mappings',
    );
    expect(natRules({ ...base, natType: 'full-cone' })).not.toContain('@contacted');
    expect(natRules({ ...base, natType: 'restricted-cone' })).toContain(
      'udp dport . ip saddr @contacted dnat ip to udp dport map @cone_mappings',
    );
    expect(natRules(base)).not.toContain('dnat ip to');
    expect(natRules({ ...base, natType: 'symmetric-random' })).toContain('random,fully-random');
  });

  test('the sequential NAT has one counter per host, with disjoint port blocks', () => {
    const rules = natRules({ ...base, natType: 'symmetric-sequential' });
    expect(rules).toContain(
      'ip saddr 10.0.1.2 snat ip to 203.0.113.2 : numgen inc mod 600 map { 0 : 20000, 1 : 20002,',
    );
    expect(rules).toContain(
      `ip saddr 10.0.1.10 snat ip to 203.0.113.2 : numgen inc mod 600 map { 0 : ${sequentialPort(1, 0, 2)},`,
    );
    expect(sequentialPort(1, 0, 2)).toBe(21_800);
    expect(sequentialPort(0, 899, 2)).toBe(21_798);
    expect(sequentialPort(0, 900, 2)).toBe(20_000);
  });

  test('bad options fail with a message naming the option', () => {
    expect(() => natRules({ ...base, sequentialStep: 0 })).toThrow(/sequentialStep/);
    expect(() => natRules({ ...base, natType: 'cone' as never })).toThrow(/natType "cone"/);
    const many = Array.from({ length: 30 }, (_, index) => `10.0.1.${index + 10}`);
    expect(() => natRules({ ...base, hostAddresses: many })).toThrow(/host addresses/);
  });
});

describe('natRules with a shared sequential counter', () => {
  test('one counter for the whole site, in steps from port 20000', () => {
    const rules = natRules({
      ...base,
      natType: 'symmetric-sequential',
      sequentialCounter: 'shared',
    });
    expect(rules).toContain(
      'ip saddr 10.0.1.0/24 snat ip to 203.0.113.2 : numgen inc mod 4000 map { 0 : 20000, 1 : 20002,',
    );
    expect(rules).not.toContain('ip saddr 10.0.1.10 snat');
  });
});
