import { NAT_ERROR_CODES } from '@p2psp/nat';
import { P2pspError, SHARED_ERROR_CODES, WIRE_ERROR_CODES } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { NATLAB_ERROR_CODES, NatLabError } from './commands.js';

// The published packages' codes are checked together in apps/cli/test/error-codes.test.ts;
// the lab (private, and a dependant of the CLI) checks its own here.
describe.each(NATLAB_ERROR_CODES)('%s', (code) => {
  it('is a NatLabError, a P2pspError, with a kind and a default message', () => {
    const error = new NatLabError(code);
    expect(error).toBeInstanceOf(P2pspError);
    expect(error.name).toBe('NatLabError');
    expect(code).toMatch(/^P2PSP_ERR_NATLAB_[A-Z0-9_]+$/);
    expect(['usage', 'remote', 'environment']).toContain(error.kind);
    expect(error.message.length).toBeGreaterThan(10);
  });
});

it('NatLabError codes are not used by the packages it drives', () => {
  const taken = new Set<string>([...NAT_ERROR_CODES, ...WIRE_ERROR_CODES, ...SHARED_ERROR_CODES]);
  expect(NATLAB_ERROR_CODES.filter((code) => taken.has(code))).toEqual([]);
  expect(new Set(NATLAB_ERROR_CODES).size).toBe(NATLAB_ERROR_CODES.length);
});
