import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// These run the built bundle, the file users run (turbo builds it before testing).
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');
const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8'));

function p2psp(...args: string[]) {
  return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the p2psp bundle', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bundle, '--version'], { encoding: 'utf8' }).trim()).toBe(
      pkg.version,
    );
  });

  it('prints help that lists the commands', () => {
    const result = p2psp('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: p2psp');
  });

  it.each([
    ['node', ['--role <role>', '--source <host:port>', '--input <url|file|->', '--ctl-token']],
    ['ctl', ['<host:port>', 'status', 'liberated+source', '--token-file', 'P2PSP_ERR_ROLE_CHANGE']],
  ])('p2psp %s --help lists its roles and flags', (command, expected) => {
    const result = p2psp(command, '--help');
    expect(result.status).toBe(0);
    for (const text of expected) expect(result.stdout).toContain(text);
  });

  it('rejects an unknown command with a clear error and a non-zero exit', () => {
    const result = p2psp('fly');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command 'fly'/);
  });

  it('rejects an unknown flag', () => {
    const result = p2psp('--frobnicate');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown option '--frobnicate'/);
  });
});
