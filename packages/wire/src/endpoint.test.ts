import { describe, expect, it } from 'vitest';
import { formatEndpoint, unmapIpv4 } from './endpoint.js';

describe('formatEndpoint', () => {
  it.each([
    [{ address: '10.0.0.5', port: 4552 }, '10.0.0.5:4552'],
    [{ address: '::1', port: 4552 }, '[::1]:4552'],
  ])('writes %o as %s', (endpoint, text) => {
    expect(formatEndpoint(endpoint)).toBe(text);
  });
});

describe('unmapIpv4 (RFC 4291 section 2.5.5.2)', () => {
  it.each([
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::FFFF:10.0.0.5', '10.0.0.5'],
    ['10.0.0.5', '10.0.0.5'],
    ['::1', '::1'],
    // Not IPv4-mapped: the hex form of a mapped address stays (callers canonicalise first).
    ['::ffff:a00:5', '::ffff:a00:5'],
    ['2001:db8::ffff:10.0.0.5', '2001:db8::ffff:10.0.0.5'],
  ])('%s -> %s', (address, unmapped) => {
    expect(unmapIpv4(address)).toBe(unmapped);
  });
});
