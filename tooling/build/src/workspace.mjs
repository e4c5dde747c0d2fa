// Where each workspace package's entry points live in src/, for tools that run on sources
// (vitest, the browser check) instead of the built dist/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The file an `exports` entry points at: a string, or its `default` (else `import`) condition. */
export function exportTarget(target) {
  return typeof target === 'string' ? target : (target?.default ?? target?.import);
}

/**
 * Every workspace package's export (and subpath export) as an alias from its specifier to
 * its TypeScript source: each export "./dist/x.js" has its source at "./src/x.ts" (see
 * build.mjs).
 */
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
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        const match = /^\.\/dist\/(.+)\.js$/.exec(exportTarget(target) ?? '');
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
