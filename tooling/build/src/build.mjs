#!/usr/bin/env node
// Builds the package in the current directory.
//   Library (default): src/index.ts, plus the entries listed in package.json
//   "p2psp.entries", -> dist/*.js with esbuild (dependencies stay external; code shared by
//   entries goes to chunk files, so each class is defined once and `instanceof` holds across
//   subpaths), then tsc --emitDeclarationOnly for the .d.ts files.
//   --bin ENTRY: one self-contained ESM file with a shebang (the CLI), no declarations.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const args = process.argv.slice(2);
const binIndex = args.indexOf('--bin');

rmSync('dist', { recursive: true, force: true });

if (binIndex >= 0) {
  const entry = args[binIndex + 1];
  if (!entry) throw new Error('p2psp-build: --bin needs an entry file, e.g. --bin src/main.ts');
  await build({
    entryPoints: [entry],
    outfile: 'dist/p2psp.mjs',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    // pino loads its transports (pino-pretty) in worker threads by module name: keep them installed, not bundled.
    external: ['pino', 'pino-pretty', 'playwright-core'],
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __p2pspCreateRequire } from 'node:module';\nconst require = __p2pspCreateRequire(import.meta.url);",
    },
    define: { P2PSP_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
} else {
  const entries = ['src/index.ts', ...(pkg.p2psp?.entries ?? [])];
  await build({
    entryPoints: entries,
    outdir: 'dist',
    outbase: 'src',
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    packages: 'external',
    logLevel: 'warning',
  });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], {
    stdio: 'inherit',
  });
}
