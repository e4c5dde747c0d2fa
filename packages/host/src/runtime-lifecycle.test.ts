import { P2pspError, type P2pspErrorInfo, SHARED_ERRORS } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { explainListenError, type ListenErrorCode, RuntimeShutdown } from './runtime-lifecycle.js';

class RuntimeError extends P2pspError<ListenErrorCode> {
  constructor(code: ListenErrorCode, message: string, options: { cause: unknown }) {
    super(code, SHARED_ERRORS[code] as P2pspErrorInfo, message, options);
  }
}

const words = {
  inUse: '--port 4552 is already in use',
  cannotListen: (code: string) => `--port 4552: cannot listen there (${code})`,
};

describe('explainListenError', () => {
  it('words a port in use and an address that is not ours as the runtime error', () => {
    const inUse = Object.assign(new Error('bind'), { code: 'EADDRINUSE' });
    expect(explainListenError(inUse, RuntimeError, words)).toMatchObject({
      code: 'P2PSP_ERR_PORT_IN_USE',
      message: '--port 4552 is already in use',
      cause: inUse,
    });
    for (const code of ['EADDRNOTAVAIL', 'EACCES', 'ENOTFOUND']) {
      const error = Object.assign(new Error('bind'), { code });
      expect(explainListenError(error, RuntimeError, words)).toMatchObject({
        code: 'P2PSP_ERR_BAD_OPTION',
        message: `--port 4552: cannot listen there (${code})`,
      });
    }
  });

  it('returns any other error as it is: a P2pspError, or one without a system code', () => {
    const core = new RuntimeError('P2PSP_ERR_BAD_OPTION', 'chunkSize too large', { cause: null });
    expect(explainListenError(core, RuntimeError, words)).toBe(core);
    const other = new Error('NAT detection failed');
    expect(explainListenError(other, RuntimeError, words)).toBe(other);
  });
});

describe('RuntimeShutdown', () => {
  it('closes in order, once, and resolves done with the first reason', async () => {
    const closed: string[] = [];
    const shutdown = new RuntimeShutdown();
    shutdown.started(
      async () => closed.push('host'),
      () => closed.push('players'),
    );
    await Promise.all([shutdown.shutdown('stopped'), shutdown.shutdown('again')]);
    expect(closed).toEqual(['host', 'players']);
    await expect(shutdown.done).resolves.toBe('stopped');
  });

  it('keeps a stop the core said before start-up finished until there is something to close', async () => {
    const closed: string[] = [];
    const shutdown = new RuntimeShutdown();
    shutdown.coreStopped('join-refused');
    expect(closed).toEqual([]);
    shutdown.started(() => closed.push('host'));
    await expect(shutdown.done).resolves.toBe('join-refused');
    expect(closed).toEqual(['host']);
  });
});
