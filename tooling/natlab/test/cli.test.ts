import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLab, type Lab, type LabProcess, NAT_TYPES } from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

// The `p2psp nat serve` / `p2psp nat detect` commands, as a user runs them: the
// built CLI, in the namespaces. Needs `apps/cli/dist` (turbo builds it before this package's
// tests, since the CLI is a devDependency).
const cli = join(import.meta.dirname, '..', 'node_modules', 'p2psp', 'dist', 'p2psp.mjs');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
let skipReason = labSkipReason();
if (skipReason === null && !existsSync(cli)) {
  if (inCi) throw new Error(`CI=true but the CLI is not built (${cli}): run pnpm turbo run build`);
  skipReason = 'the CLI is not built: run `pnpm --filter p2psp build` first';
}

describe.skipIf(skipReason !== null)(
  `p2psp nat serve / detect in the lab${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    let server: LabProcess;

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 0 });
      server = lab.spawnNode('stun', cli, [
        'nat',
        'serve',
        '--address',
        lab.stunPrimaryAddress,
        '--alternate-address',
        lab.stunAlternateAddress,
      ]);
      expect(await server.nextLine(15_000)).toContain('(RFC 5780)');
    });

    afterAll(async () => {
      const stopped = await server?.stop();
      await lab?.destroy();
      // The server reports what it served when stopped politely.
      if (stopped) expect(stopped.stdout).toMatch(/served \d+ responses/);
    });

    test.each(NAT_TYPES)('detect --json names %s from both sites', async (natType) => {
      lab.setNatType('a', natType);
      lab.setNatType('b', natType);
      const runs = await Promise.all(
        (['a', 'b'] as const).map((site) =>
          lab.run(`${site}-host`, process.execPath, [
            cli,
            'nat',
            'detect',
            '--stun',
            `${lab.stunPrimaryAddress}:3478`,
            '--json',
            '--local-address',
            lab.sites[site].hostAddress,
          ]),
        ),
      );
      for (const [index, run] of runs.entries()) {
        expect(run.exitCode, run.stderr).toBe(0);
        const result = JSON.parse(run.stdout) as {
          report: { type: string; portStep: number; mappedEndpoint: { address: string } };
        };
        expect(result.report.type, run.stdout).toBe(natType);
        expect(result.report.mappedEndpoint.address).toBe(
          lab.sites[index === 0 ? 'a' : 'b'].wanAddress,
        );
      }
    });

    test('detect prints the verdict for a person', async () => {
      lab.setNatType('a', 'symmetric-sequential');
      const run = await lab.run('a-host', process.execPath, [
        cli,
        'nat',
        'detect',
        '--stun',
        lab.stunPrimaryAddress,
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain('NAT type: symmetric-sequential');
      expect(run.stdout).toContain('port allocation: sequential (step 2)');
    });
  },
);
