import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COTURN, COTURN_READY_LINE, coturnStunArguments, ensureSystemTools } from '@p2psp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectNat, type RunningStunServer, startStunServer } from '../src/node/index.js';

// Interop with Debian's coturn on loopback (127.0.0.1 and 127.0.0.2 both reach lo on Linux):
// our detector against turnserver, and coturn's reference client against our server. The
// namespace NAT lab (tooling/natlab) repeats this behind every NAT type.
let missing: string[] = [];
let coturn: ChildProcess | undefined;
let coturnFolder: string | undefined;
let coturnPort = 0;

async function startCoturn(): Promise<void> {
  for (let attempt = 0; attempt < 5 && !coturn; attempt++) {
    coturnPort = 20000 + Math.floor(Math.random() * 20000) * 2; // P and P+1, both < 60000
    coturnFolder = mkdtempSync(join(tmpdir(), 'p2psp-nat-coturn-'));
    const child = spawn(
      'turnserver',
      coturnStunArguments({
        primaryAddress: '127.0.0.1',
        alternateAddress: '127.0.0.2',
        port: coturnPort,
        alternatePort: coturnPort + 1,
        folder: coturnFolder,
      }),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ready = await new Promise<boolean>((resolve) => {
      let output = '';
      const timer = setTimeout(() => resolve(false), 15_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(COTURN_READY_LINE)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) coturn = child;
    else child.kill('SIGKILL');
  }
}

beforeAll(async () => {
  missing = ensureSystemTools([COTURN]);
  if (missing.length === 0) await startCoturn();
}, 120_000);

afterAll(() => {
  // By PID, the one we spawned.
  try {
    if (coturn?.pid && coturn.exitCode === null) process.kill(coturn.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  if (coturnFolder) rmSync(coturnFolder, { recursive: true, force: true });
});

describe('coturn interop on loopback', () => {
  it('our detector against coturn reports open internet', async (context) => {
    if (missing.length > 0) context.skip(`missing: ${missing.join(', ')}`);
    expect(coturn, 'turnserver did not start').toBeDefined();
    const result = await detectNat({
      server: { address: '127.0.0.1', port: coturnPort },
      localAddress: '127.0.0.1',
      retransmission: { rto: 100, maxRequests: 4, lastWaitFactor: 4 },
    });
    expect(result.otherAddress).toEqual({ address: '127.0.0.2', port: coturnPort + 1 });
    expect(result.mapping).toBe('endpoint-independent');
    expect(result.filtering).toBe('endpoint-independent');
    expect(result.report.type).toBe('open');
  });

  it('coturn turnutils_natdiscovery against our server sees endpoint-independent mapping and filtering', async (context) => {
    if (missing.length > 0) context.skip(`missing: ${missing.join(', ')}`);
    let server: RunningStunServer | undefined;
    try {
      server = await startStunServer({
        address: '127.0.0.1',
        alternateAddress: '127.0.0.2',
        port: 0,
        alternatePort: 0,
      });
      const port = server.endpoints[0]!.port;
      const output = await new Promise<string>((resolve) => {
        execFile(
          'turnutils_natdiscovery',
          ['-m', '-f', '-p', String(port), '127.0.0.1'],
          { timeout: 30_000 },
          (_error, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
        );
      });
      expect(output).toMatch(/NAT with Endpoint Independent Mapping!/);
      expect(output).toMatch(/NAT with Endpoint Independent Filtering!/);
      expect(output).toMatch(
        new RegExp(`Other addr: : 127\\.0\\.0\\.2:${server.endpoints[3]!.port}`),
      );
      expect(server.counters.dropped).toBe(0);
    } finally {
      await server?.close();
    }
  });
});
