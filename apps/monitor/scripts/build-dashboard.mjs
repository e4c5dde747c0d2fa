#!/usr/bin/env node
// Bundles the dashboard for browsers at build time (uPlot included, no CDN): dist/dashboard/
// holds index.html, dashboard.js and dashboard.css (the page's styles after uPlot's).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
mkdirSync('dist/dashboard', { recursive: true });
await build({
  entryPoints: ['src/dashboard/main.ts'],
  outfile: 'dist/dashboard/dashboard.js',
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
});
const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
writeFileSync(
  'dist/dashboard/dashboard.css',
  `${uplotCss}\n${readFileSync('src/dashboard/dashboard.css', 'utf8')}`,
);
copyFileSync('src/dashboard/index.html', 'dist/dashboard/index.html');
