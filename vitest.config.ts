import { defineConfig } from 'vitest/config';

// Every workspace package with tests is a vitest project; each project's config
// (@p2psp/vitest-preset) resolves @p2psp/* imports to their src/, so no build is needed.
// `pnpm vitest run --project @p2psp/wire` from here runs one package; CI runs the
// packages one by one through turbo (`npm test`), which also caches them.
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'tooling/*/vitest.config.ts',
    ],
  },
});
