// Shared vitest project settings.
// - Every @p2psp/* workspace package resolves to its src/ entry, so tests need no build.
// - Each package run also writes .vitest/report.json, which scripts/test-summary.mjs
//   adds up into the one "N passed, M failed" line CI reads (and turbo caches).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceAliases } from '@p2psp/build/workspace';
import { defineProject } from 'vitest/config';

export { workspaceAliases };

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
