import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `p2psp sim` through the built bundle, the file users run (turbo builds it first).
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'p2psp-sim-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sim(...args: string[]) {
  return spawnSync(process.execPath, [bundle, 'sim', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('p2psp sim', () => {
  it('prints a summary for a person', () => {
    const result = sim('--peers', '8', '--buffer', '24', '--seconds', '6', '--loss', '1%');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/chunk loss ratio +mean [\d.]+%/);
    expect(result.stdout).toMatch(/source upload +[\d.]+ x the stream/);
    expect(result.stdout).toMatch(/8 joins, 0 leaves, 0 crashes, 0 expulsions/);
  });

  it('--json prints one JSON object, the same for the same seed; --trace writes NDJSON', () => {
    const trace = join(scratch, 'run.ndjson');
    const first = sim(
      '--peers',
      '6',
      '--buffer',
      '18',
      '--seconds',
      '5',
      '--seed',
      '7',
      '--json',
      '--trace',
      trace,
    );
    const second = sim('--peers', '6', '--buffer', '18', '--seconds', '5', '--seed', '7', '--json');
    expect(first.status).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.peersMeasured).toBe(6);
    // A chunk or two may be lost while the others join (see docs/simulation.md, section 2).
    expect(summary.chunkLossRatio.max).toBeLessThan(0.05);
    expect(JSON.parse(second.stdout).traceHash).toBe(summary.traceHash);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    const records = lines.map((line) => JSON.parse(line));
    expect(records.filter((record) => record.type === 'peer-join')).toHaveLength(6);
  });

  it('an upload capacity below the stream rate shows as queue drops and loss', () => {
    const args = [
      '--peers',
      '10',
      '--buffer',
      '30',
      '--seconds',
      '10',
      '--measure-from',
      '5',
      '--json',
    ];
    const enough = JSON.parse(sim(...args, '--upload-kbps', '400').stdout);
    const starved = JSON.parse(sim(...args, '--upload-kbps', '80').stdout);
    expect(enough.chunkLossRatio.mean).toBe(0);
    // 80 kbit/s cannot carry ~115 kbit/s of relays: the upload queue grows, relays come late.
    expect(starved.chunkLossRatio.mean).toBeGreaterThan(0.1);
  });

  it.each([
    [
      ['--peers', '50', '--buffer', '20'],
      /--buffer: B = 20 is smaller than the cluster \(50 peers\).*use --buffer 50 or more/,
    ],
    [['--peers', '3', '--monitors', '4'], /--monitors: 4 monitors but only 3 peers/],
    [
      ['--peers', '3', '--free-riders', '3'],
      /--free-riders: 3 free riders but only 2 non-monitor peers/,
    ],
    [['--loss', '1.5'], /--loss <probability>' argument '1.5' is invalid/],
    [['--latency', '-5'], /--latency <ms>' argument '-5' is invalid/],
    [['--nat-type', 'cone'], /--nat-type: unknown type 'cone'/],
    [
      ['--peers', '100', '--seconds', '5'],
      /--seconds: the run lasts 5 s but the last peer starts playing after about 10\.6 s/,
    ],
  ])('explains %j and exits non-zero', (args, message) => {
    const result = sim(...args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
