import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentScript } from '../src/agents.js';
import {
  cleanupStaleLabs,
  createLab,
  type Lab,
  type LabProcess,
  median,
  NAT_TYPES,
  type NatType,
  ROLES,
} from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

const skipReason = labSkipReason();
const ECHO_PORTS = [7001, 7002, 7003, 7004, 7005, 7006];

describe.skipIf(skipReason !== null)(
  `the lab itself${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    let echo: LabProcess;
    let probeScript: string;
    let nextLocalPort = 41_000;

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 2 });
      echo = lab.spawnNode('public-host', await agentScript('udp-echo'), [
        '--address',
        lab.publicHostAddress,
        '--ports',
        ECHO_PORTS.join(','),
      ]);
      expect(JSON.parse(await echo.nextLine(10_000))).toEqual({ type: 'ready' });
      probeScript = await agentScript('port-probe');
    });

    afterAll(async () => {
      await lab?.destroy();
    });

    /** The external endpoints one socket of site A's host gets towards six echo ports. */
    async function observe(natType: NatType): Promise<{ localPort: number; ports: number[] }> {
      lab.setNatType('a', natType);
      nextLocalPort += 1;
      const probe = lab.spawnNode('a-host', probeScript, [
        '--local-address',
        lab.sites.a.hostAddress,
        '--local-port',
        String(nextLocalPort),
        '--echo-address',
        lab.publicHostAddress,
        '--echo-ports',
        ECHO_PORTS.join(','),
      ]);
      const report = JSON.parse(await probe.nextLine(20_000)) as { observed: string[] };
      const ports = report.observed.map((observed) => {
        expect(observed.startsWith(`${lab.sites.a.wanAddress}:`)).toBe(true);
        return Number(observed.split(':')[1]);
      });
      return { localPort: nextLocalPort, ports };
    }

    test('cone NATs keep the internal port for every destination (endpoint-independent mapping)', async () => {
      for (const natType of ['full-cone', 'restricted-cone', 'port-restricted-cone'] as const) {
        const { localPort, ports } = await observe(natType);
        expect(ports).toEqual(ECHO_PORTS.map(() => localPort));
      }
    });

    test('the sequential symmetric NAT gives each new destination the next port, step 2', async () => {
      const { ports } = await observe('symmetric-sequential');
      const steps = ports.slice(1).map((port, index) => port - (ports[index] ?? 0));
      expect(steps).toEqual([2, 2, 2, 2, 2]);
    });

    test('the random symmetric NAT gives each destination an unrelated port', async () => {
      const { localPort, ports } = await observe('symmetric-random');
      expect(new Set(ports).size).toBe(ports.length);
      expect(ports).not.toContain(localPort);
      const steps = new Set(ports.slice(1).map((port, index) => port - (ports[index] ?? 0)));
      expect(steps.size).toBeGreaterThan(1);
    });

    test('addresses stay inside the namespaces: no lab address or route in the host namespace', async () => {
      const hostAddresses = execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' });
      const hostRoutes = execFileSync('ip', ['route'], { encoding: 'utf8' });
      for (const text of [hostAddresses, hostRoutes]) {
        expect(text).not.toMatch(/198\.51\.100\.|203\.0\.113\./);
      }
      // Every default route inside the lab points at a lab address.
      for (const role of [
        'stun',
        'public-host',
        'a-router',
        'a-host',
        'b-router',
        'b-host',
      ] as const) {
        const routes = lab.runSync(role, 'ip', ['route']);
        expect(routes).toMatch(/^default via (198\.51\.100\.1|203\.0\.113\.\d+|10\.0\.[12]\.1) /m);
      }
      expect(NAT_TYPES).toHaveLength(5);
    });

    test('destroy removes every namespace and process of the lab', async () => {
      const extra = createLab({ runAddressCount: 0 });
      const sleeper = extra.spawn('a-host', 'sleep', ['600']);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(extra.prefix);
      await extra.destroy();
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(
        extra.prefix,
      );
      expect(sleeper.running).toBe(false);
    });

    test('impairment is in force: about 1 - 0.9^2 of the probes survive 10% loss on the link both ways', async () => {
      await lab.setImpairment('a', { delayMilliseconds: 30, lossPercent: 10 });
      nextLocalPort += 1;
      const probe = lab.spawnNode('a-host', probeScript, [
        '--local-address',
        lab.sites.a.hostAddress,
        '--local-port',
        String(nextLocalPort),
        '--echo-address',
        lab.publicHostAddress,
        '--echo-ports',
        String(ECHO_PORTS[0]),
        '--burst',
        '300',
      ]);
      const report = JSON.parse(await probe.nextLine(20_000)) as {
        answered: number;
        roundTrips: number[];
      };
      await lab.setImpairment('a', null);
      // 300 x 0.81 = 243 expected; the bounds are more than 5 standard deviations away.
      expect(report.answered).toBeGreaterThan(195);
      expect(report.answered).toBeLessThan(285);
      // Printed, not asserted (rule 4): 2 x 30 ms expected.
      console.log(
        `impairment via ${lab.impairmentMethod}: ${report.answered}/300 answered, median round trip ${median(report.roundTrips)?.toFixed(1)} ms`,
      );
    });

    test('a lab owner killed by SIGTERM tears its lab down; after SIGKILL, cleanupStaleLabs does', async () => {
      const script = await agentScript('lab-owner');
      const listNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        const owner = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
        const ready = await new Promise<{ prefix: string }>((resolve) =>
          owner.stdout.once('data', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')))),
        );
        expect(listNamespaces()).toContain(ready.prefix);
        const exited = new Promise((resolve) => owner.once('close', resolve));
        owner.kill(signal);
        await exited;
        if (signal === 'SIGTERM') {
          expect(listNamespaces()).not.toContain(ready.prefix);
        } else {
          expect(listNamespaces()).toContain(ready.prefix);
          const removed = cleanupStaleLabs();
          expect(removed.filter((name) => name.startsWith(`${ready.prefix}-`))).toHaveLength(
            ROLES.length,
          );
          expect(listNamespaces()).not.toContain(ready.prefix);
        }
      }
    });
  },
);
