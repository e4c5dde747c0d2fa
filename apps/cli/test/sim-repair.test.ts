import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `--no-repair` through the built bundle (turbo builds it first), for `sim` and `peer`.
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');

function p2psp(...args: string[]) {
  return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('RMS-lite repair switch in the CLI', () => {
  it('sim: repair is on by default and --no-repair turns it off (1% loss, LRS by default)', () => {
    const common = ['sim', '--peers', '20', '--buffer', '60', '--seconds', '12', '--loss', '1%'];
    const repaired = p2psp(...common, '--json');
    const plain = p2psp(...common, '--no-repair', '--json');
    expect(repaired.status).toBe(0);
    expect(plain.status).toBe(0);
    const withRepair = JSON.parse(repaired.stdout);
    const without = JSON.parse(plain.stdout);
    expect(withRepair.parameters.peerOptions.repair).toBe(true);
    expect(without.parameters.peerOptions.repair).toBe(false);
    expect(withRepair.parameters.lrs).toBe(true);
    // Without repair the relay hop still loses ~1%; with it, far less.
    expect(without.chunkLossRatio.mean).toBeGreaterThan(0.004);
    expect(withRepair.chunkLossRatio.mean).toBeLessThan(without.chunkLossRatio.mean / 2);
    const summary = p2psp(...common, '--no-repair');
    expect(summary.stdout).toMatch(/rules .*no repair/);
  });

  it('sim: LRS is on by default, --no-lrs turns it off, and --monitors 0 runs without it', () => {
    const common = ['sim', '--peers', '6', '--buffer', '18', '--seconds', '6', '--json'];
    const byDefault = p2psp(...common);
    const off = p2psp(...common, '--no-lrs');
    const noMonitor = p2psp(...common, '--monitors', '0');
    for (const result of [byDefault, off, noMonitor]) expect(result.status).toBe(0);
    expect(JSON.parse(byDefault.stdout).parameters.lrs).toBe(true);
    expect(JSON.parse(off.stdout).parameters.lrs).toBe(false);
    expect(JSON.parse(noMonitor.stdout).parameters.lrs).toBe(false);
    expect(p2psp('sim', '--help').stdout).toMatch(/--no-lrs/);
    expect(p2psp('source', '--help').stdout).toMatch(/--no-lrs/);
  });

  it('peer: --no-repair is offered, and described', () => {
    const help = p2psp('peer', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--no-repair +plain DBS/);
  });
});
