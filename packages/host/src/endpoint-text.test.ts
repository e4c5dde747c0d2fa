import { describe, expect, it } from 'vitest';
import { lookupEndpoint, parseEndpoint, parsePort } from './endpoint-text.js';

describe('parseEndpoint', () => {
  it.each([
    ['127.0.0.1:4552', '127.0.0.1', 4552],
    ['localhost:1', 'localhost', 1],
    ['[::1]:4552', '::1', 4552],
    ['example.org:65535', 'example.org', 65535],
  ])('parses %s', (text, host, port) => {
    expect(parseEndpoint(text)).toEqual({ host, port });
  });

  it.each(['127.0.0.1', '127.0.0.1:0', 'host:99999', ':80', 'a b:1', '::1:80', 'x:-1'])(
    'refuses %s with P2PSP_ERR_BAD_ADDRESS',
    (text) => {
      expect(() => parseEndpoint(text, '--source')).toThrowError(
        expect.objectContaining({ code: 'P2PSP_ERR_BAD_ADDRESS' }),
      );
    },
  );

  it('names the flag and the expected form', () => {
    expect(() => parseEndpoint('nowhere', '--source')).toThrow(
      /--source: 'nowhere' is not HOST:PORT/,
    );
    expect(() => parsePort('70000', '--port')).toThrow(/from 0 to 65535/);
  });
});

describe('parseEndpoint with a default port', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', 3478],
    ['stun.example.org', 'stun.example.org', 3478],
    ['[::1]', '::1', 3478],
    ['::1', '::1', 3478],
    ['[::1]:5', '::1', 5],
    ['127.0.0.1:5', '127.0.0.1', 5],
  ])('parses %s', (text, host, port) => {
    expect(parseEndpoint(text, '--stun', { defaultPort: 3478 })).toEqual({ host, port });
  });

  it.each(['127.0.0.1:70000', '127.0.0.1:0', 'a b', ':80'])('still refuses %s', (text) => {
    expect(() => parseEndpoint(text, '--stun', { defaultPort: 3478 })).toThrowError(
      expect.objectContaining({ code: 'P2PSP_ERR_BAD_ADDRESS' }),
    );
  });
});

describe('lookupEndpoint', () => {
  it('keeps IP literals and resolves localhost (no other name: tests resolve no host)', async () => {
    await expect(lookupEndpoint({ host: '::1', port: 5 })).resolves.toEqual({
      address: '::1',
      port: 5,
    });
    const local = await lookupEndpoint({ host: 'localhost', port: 4552 });
    expect(['127.0.0.1', '::1']).toContain(local.address);
    expect(local.port).toBe(4552);
  });
});
