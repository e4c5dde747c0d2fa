#!/usr/bin/env node
// The two quick-start commands, runnable on a fresh machine with only Node 20 and npm:
//   npm run demo   -> bootstrap, build, then `p2psp demo` (a source and 4 peers on loopback)
//   npm test       -> bootstrap, build, typecheck, lint and every test, then one summary line
// Bootstrap = install the pinned pnpm when missing, then `pnpm install --frozen-lockfile`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // pnpm@X

// No telemetry from turbo: this may run on machines whose network reaches only registries.
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function pnpmVersion() {
  const result = spawnSync('pnpm', ['--version'], { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? `pnpm@${result.stdout.trim()}` : null;
}

function bootstrap() {
  if (pnpmVersion() !== pinned) {
    console.error(`[p2psp] installing ${pinned} with npm (found ${pnpmVersion() ?? 'no pnpm'})`);
    if (run('npm', ['install', '--global', '--no-fund', '--no-audit', pinned]) !== 0) {
      throw new Error(`npm install --global ${pinned} failed: install it by hand and rerun`);
    }
  }
  const status = run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], {
    env: { ...env, CI: 'true' }, // no interactive prompts
  });
  if (status !== 0) process.exit(status);
}

const command = process.argv[2];
bootstrap();
if (command === 'demo') {
  if (
    run('pnpm', ['turbo', 'run', 'build', '--filter=p2psp...', '--output-logs=errors-only']) !== 0
  ) {
    process.exit(1);
  }
  process.exit(
    run(process.execPath, ['apps/cli/dist/p2psp.mjs', 'demo', ...process.argv.slice(3)]),
  );
} else if (command === 'test') {
  // Checks first, in parallel (check-browser: each sans-IO package's root bundles for a
  // browser); then the tests one package at a time, because the real-socket and namespace
  // tests share this machine's two cores and its loopback.
  const checks = run('pnpm', [
    'turbo',
    'run',
    'build',
    'typecheck',
    'lint',
    'check-browser',
    '--continue',
  ]);
  const tests = run('pnpm', ['turbo', 'run', 'test', '--continue', '--concurrency=1']);
  const tasks = checks !== 0 ? checks : tests;
  const summary = run(process.execPath, ['scripts/test-summary.mjs']);
  process.exit(tasks !== 0 ? tasks : summary);
} else {
  console.error('usage: node scripts/run.mjs demo|test');
  process.exit(2);
}
