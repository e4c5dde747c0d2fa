#!/usr/bin/env node
// `pnpm --filter @p2psp/peer start -- --source HOST:PORT [flags]` starts a peer. It runs the
// `p2psp peer` command of the CLI bundle, so there is one flag parser and one set of errors.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bundle = fileURLToPath(new URL('../../../apps/cli/dist/p2psp.mjs', import.meta.url));

if (!existsSync(bundle)) {
  console.error('[p2psp] building the CLI first (pnpm turbo run build --filter=p2psp...)');
  const built = spawnSync('pnpm', ['turbo', 'run', 'build', '--filter=p2psp...'], {
    cwd: workspaceRoot,
    stdio: 'inherit',
  });
  if (built.status !== 0 || !existsSync(bundle)) {
    console.error(
      'error: could not build the CLI; run `pnpm install` and `pnpm build` at the root',
    );
    process.exit(1);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--') args.shift();
process.argv = [process.argv[0], bundle, 'peer', ...args];
await import(pathToFileURL(bundle).href);
