import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeImportsOfRoot } from '../src/browser-imports.mjs';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

describe('the browser check of a package root', () => {
  it('names each Node built-in the root reaches, with the import chain', async () => {
    const problems = await nodeImportsOfRoot(join(fixtures, 'leaky'));
    const leaky = 'tooling/build/test/fixtures/leaky/src';
    expect(problems).toEqual([
      {
        specifier: 'node:dgram',
        chain: [`${leaky}/index.ts`, `${leaky}/core.ts`, `${leaky}/node/socket.ts`, 'node:dgram'],
      },
      {
        specifier: 'fs',
        chain: [`${leaky}/index.ts`, `${leaky}/core.ts`, `${leaky}/node/socket.ts`, 'fs'],
      },
    ]);
  });

  it('passes a root that reaches none, across workspace packages (resolved to src)', async () => {
    expect(await nodeImportsOfRoot(join(fixtures, 'clean'))).toEqual([]);
  });
});
