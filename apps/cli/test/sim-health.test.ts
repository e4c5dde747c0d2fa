import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `p2psp sim` issue-5 flags through the built bundle, and the source/peer health flags'
// refusals (they fail before opening any socket).
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('p2psp sim: cluster health from the outside', () => {
  it('--json lists the free riders and the members expelled, with the reason and rounds', () => {
    const result = cli(
      'sim',
      '--peers',
      '20',
      '--free-riders',
      '2',
      '--loss',
      '1%',
      '--seconds',
      '70',
      '--seed',
      '3',
      '--json',
    );
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.freeRiders).toHaveLength(2);
    const expelled = summary.expulsions.map((entry: { member: string }) => entry.member).sort();
    expect(expelled).toEqual([...summary.freeRiders].sort());
    for (const expulsion of summary.expulsions) {
      expect(expulsion).toMatchObject({ reason: 'expelled', freeRider: true });
      expect(expulsion.chunksSent).toBeGreaterThanOrEqual(33);
    }
    expect(summary.health.honestExpelled).toEqual([]);
    expect(summary.health.freeRidersNotExpelled).toEqual([]);
    expect(summary.health.roundsToExpulsion.count).toBe(2);
  });

  it('--crash-fraction with the default member timeout: the source drops the crashed', () => {
    const result = cli(
      'sim',
      '--peers',
      '20',
      '--crash-fraction',
      '0.3',
      '--crash-at',
      '10',
      '--seconds',
      '25',
      '--acs',
      '--complaints-by',
      'ip',
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/rules +LRS, ACS, complaints by ip, member timeout/);
    expect(result.stdout).toMatch(/crashes +6 at 10\.0 s; source dropped them after/);
    expect(result.stdout).toMatch(/0 still listed at 2B/);
  });

  it.each([
    [['sim', '--monitors', '0', '--acs'], /--acs: ACS weights members by the complaints/],
    [
      ['sim', '--monitors', '0', '--complaints-by', 'ip'],
      /--complaints-by: complaints come from monitors only/,
    ],
    [
      ['sim', '--complaints-by', 'port'],
      /--complaints-by: unknown value 'port'; use one of endpoint, ip/,
    ],
    [
      ['sim', '--member-timeout', '5'],
      /--member-timeout: 5 chunk times are 320 ms.*use --member-timeout 63 or more/,
    ],
    [['sim', '--free-rider-rejoin', '20'], /--free-rider-rejoin: needs --free-riders 1 or more/],
    [['sim', '--slow-peers', '2'], /--slow-upload-kbps: slow peers need an upload capacity/],
    [
      ['sim', '--complaint-threshold', '32', '--complaint-threshold-ms', '2048'],
      /--complaint-threshold and --complaint-threshold-ms both given.*P2PSP_ERR_BAD_OPTION/,
    ],
  ])('p2psp %j explains the invalid combination', (args, message) => {
    const result = cli(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    [
      ['peer', '--source', '127.0.0.1:9', '--credential', 'x'],
      /a credential is only for monitors: add --monitor/,
    ],
    [
      ['source', '--input', '-', '--member-timeout', '3'],
      /--member-timeout 3: peers report every 2 s.*use 6 or more/,
    ],
    [
      ['source', '--input', '-', '--monitor-credential-file', '/nonexistent/secret'],
      /--monitor-credential-file \/nonexistent\/secret: cannot read it/,
    ],
  ])('p2psp %j refuses with a message naming the fix', (args, message) => {
    const result = cli(...args);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('P2PSP_ERR_BAD_OPTION');
  });
});
