// Shared vitest project settings.
// - Every @p2psp/* workspace package resolves to its src/ entry, so tests need no build.
// - Each package run also writes .vitest/report.json, which scripts/test-summary.mjs
//   adds up into the one "N passed, M failed" line CI reads (and turbo caches).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Alias every workspace package (and its subpath exports) to its TypeScript source. */
export function workspaceAliases() {
  const aliases = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const groupDir = join(workspaceRoot, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir)) {
      const pkgFile = join(groupDir, name, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      if (typeof pkg.exports !== 'object' || pkg.exports === null) continue;
      // Each export "./dist/x.js" has its source at "./src/x.ts" (see tooling/build).
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        const built = typeof target === 'string' ? target : (target.default ?? target.import);
        const match = /^\.\/dist\/(.+)\.js$/.exec(built ?? '');
        if (!match) continue;
        const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
        aliases.push({
          find: new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`),
          replacement: join(groupDir, name, `src/${match[1]}.ts`),
        });
      }
    }
  }
  return aliases;
}

/** The vitest project config for the package in `dir`. */
export function packageConfig(dir, overrides = {}) {
  // A run that dies before reporting must not leave the previous run's report behind.
  rmSync(join(dir, '.vitest'), { recursive: true, force: true });
  return defineProject({
    resolve: { alias: workspaceAliases() },
    test: {
      root: dir,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', ['json', { outputFile: join(dir, '.vitest/report.json') }]],
      testTimeout: 30_000,
      hookTimeout: 120_000,
      ...overrides,
    },
  });
}
