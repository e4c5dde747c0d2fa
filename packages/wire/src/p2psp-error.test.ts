import { describe, expect, it } from 'vitest';
import {
  errorCodes,
  P2pspError,
  type P2pspErrorTable,
  SHARED_ERROR_CODES,
  SHARED_ERRORS,
} from './p2psp-error.js';
import { WIRE_ERROR_CODES, WIRE_ERRORS, WireError } from './wire-error.js';

const CODE_PATTERN = /^P2PSP_ERR_[A-Z0-9_]+$/;

describe('P2pspError', () => {
  it('carries code, kind, the default message, details and cause', () => {
    const cause = new Error('EADDRINUSE');
    const error = new P2pspError(
      'P2PSP_ERR_PORT_IN_USE',
      SHARED_ERRORS.P2PSP_ERR_PORT_IN_USE,
      undefined,
      {
        details: { port: 4552 },
        cause,
      },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('P2pspError');
    expect(error.code).toBe('P2PSP_ERR_PORT_IN_USE');
    expect(error.kind).toBe('environment');
    expect(error.message).toBe(SHARED_ERRORS.P2PSP_ERR_PORT_IN_USE.message);
    expect(error.details).toEqual({ port: 4552 });
    expect(error.cause).toBe(cause);
  });

  it('uses the thrower message when given, and sets no cause when none is given', () => {
    const error = new P2pspError(
      'P2PSP_ERR_CONFIG',
      SHARED_ERRORS.P2PSP_ERR_CONFIG,
      'bufferSize: 0',
    );
    expect(error.message).toBe('bufferSize: 0');
    expect(error.details).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('lists a table in declaration order, frozen', () => {
    const table: P2pspErrorTable<'P2PSP_ERR_B' | 'P2PSP_ERR_A'> = {
      P2PSP_ERR_B: { kind: 'remote', message: 'b' },
      P2PSP_ERR_A: { kind: 'usage', message: 'a' },
    };
    const codes = errorCodes(table);
    expect(codes).toEqual(['P2PSP_ERR_B', 'P2PSP_ERR_A']);
    expect(Object.isFrozen(codes)).toBe(true);
  });
});

// The package's own codes; apps/cli/test/error-codes.test.ts checks every package together.
describe.each(
  Object.entries({ ...SHARED_ERRORS, ...WIRE_ERRORS }).map(([code, info]) => ({ code, info })),
)('$code', ({ code, info }) => {
  it('is well formed, with a kind and a default message', () => {
    expect(code).toMatch(CODE_PATTERN);
    expect(['usage', 'remote', 'environment']).toContain(info.kind);
    expect(info.message.length).toBeGreaterThan(10);
  });
});

it('lists every code of the tables exactly once', () => {
  expect([...SHARED_ERROR_CODES, ...WIRE_ERROR_CODES].sort()).toEqual(
    Object.keys({ ...SHARED_ERRORS, ...WIRE_ERRORS }).sort(),
  );
});

describe('WireError', () => {
  it('extends P2pspError, keeps its name, code, field and the field-prefixed message', () => {
    const error = new WireError('P2PSP_ERR_WIRE_OPTION', 'maxFrameBytes', 'must be at least 1');
    expect(error).toBeInstanceOf(P2pspError);
    expect(error.name).toBe('WireError');
    expect(error.code).toBe('P2PSP_ERR_WIRE_OPTION');
    expect(error.kind).toBe('usage');
    expect(error.field).toBe('maxFrameBytes');
    expect(error.details).toEqual({ field: 'maxFrameBytes' });
    expect(error.message).toBe('maxFrameBytes: must be at least 1');
  });
});
