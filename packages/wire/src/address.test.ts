import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';

/** Node's own text form of an address (libuv), the form `rinfo.address` has. */
function nodeForm(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

describe('IPv6 addresses', () => {
  it('format as Node prints them, for any 16 bytes (biased to zero runs)', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const full = words.map((value) => value.toString(16)).join(':');
        const bytes = parseIpv6(full);
        expect(bytes).not.toBeNull();
        const text = formatIpv6(bytes!, 0);
        expect(text).toBe(nodeForm(full));
        expect(parseIpv6(text)).toEqual(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['0:0:0:0:0:0:102:304', '::1.2.3.4'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['fe80::1:2', 'fe80::1:2'],
  ])('%s formats as %s', (input, expected) => {
    expect(formatIpv6(parseIpv6(input)!, 0)).toBe(expected);
    expect(nodeForm(input)).toBe(expected);
  });

  it.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::',
    '::1.2.3',
    '1.2.3.4::',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7::8',
  ])('refuses %j', (input) => {
    expect(parseIpv6(input)).toBeNull();
  });
});

describe('IPv4 addresses', () => {
  it('round trip', () => {
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        expect(formatIpv4(parseIpv4(address)!, 0)).toBe(address);
      }),
    );
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', 'a.b.c.d', '1..2.3'])(
    'refuses %j',
    (input) => {
      expect(parseIpv4(input)).toBeNull();
    },
  );
});
