import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startStunServer } from '@p2psp/nat/node';
import { describe, expect, it } from 'vitest';

// The built bundle, the file users run (turbo builds it before testing). Loopback only.
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `stopAfter` sends SIGINT once stdout matches. Killed by PID past 20 s. */
function p2psp(args: string[], stopAfter?: RegExp): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (bytes: Buffer) => {
      stdout += bytes.toString();
      if (stopAfter?.test(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (bytes: Buffer) => {
      stderr += bytes.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('p2psp nat', () => {
  it('detect --json against an RFC 5780 server on 127.0.0.1/127.0.0.2 says open', async () => {
    const server = await startStunServer({
      address: '127.0.0.1',
      alternateAddress: '127.0.0.2',
      port: 0,
      alternatePort: 0,
    });
    try {
      const detect = (...extra: string[]) =>
        p2psp([
          ...['nat', 'detect', '--stun', `127.0.0.1:${server.endpoints[0]!.port}`],
          ...['--local-address', '127.0.0.1', ...extra],
        ]);
      const run = await detect('--json');
      expect(run.status).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.report.type).toBe('open');
      expect(result.filtering).toBe('endpoint-independent');
      const human = await detect();
      expect(human.stdout).toMatch(/^NAT type: open/);
    } finally {
      await server.close();
    }
  });

  it('serve listens on four sockets and reports what it served on SIGINT', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000) * 2;
    const run = await p2psp(
      [
        'nat',
        'serve',
        '--address',
        '127.0.0.1',
        '--alternate-address',
        '127.0.0.2',
        '--port',
        String(port),
        '--alternate-port',
        String(port + 1),
      ],
      /RFC 5780/,
    );
    expect(run.stdout).toContain(`127.0.0.2:${port + 1} (RFC 5780)`);
    expect(run.stdout).toMatch(/served 0 responses/);
  });

  it('bad flags fail with a message naming the fix', async () => {
    const same = await p2psp([
      'nat',
      'serve',
      '--address',
      '127.0.0.1',
      '--alternate-address',
      '127.0.0.1',
    ]);
    expect(same.status).toBe(1);
    expect(same.stderr).toMatch(/alternateAddress must differ.*P2PSP_ERR_NAT_OPTION/);
    const badPort = await p2psp(['nat', 'detect', '--stun', '127.0.0.1:99999']);
    expect(badPort.status).toBe(1);
    expect(badPort.stderr).toMatch(/port must be 1\.\.65535/);
    const missing = await p2psp(['nat', 'detect']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/--stun/);
  });
});
