#!/usr/bin/env node
// Fails when the root entry of the package in the current directory reaches a Node
// built-in: a package's root holds its sans-IO cores and bundles for a browser, its Node
// adapters live under ./node (STYLE.md). Run by turbo's check-browser task (npm test).
import { readFileSync } from 'node:fs';
import { nodeImportsOfRoot } from './browser-imports.mjs';

const name = JSON.parse(readFileSync('package.json', 'utf8')).name;
const problems = await nodeImportsOfRoot(process.cwd());
if (problems.length === 0) {
  console.log(`${name}: the root bundles for a browser`);
} else {
  console.error(`${name}: the root reaches Node built-ins; move that code under ./node:`);
  for (const { chain } of problems) console.error(`  ${chain.join('\n    -> ')}`);
  process.exit(1);
}
