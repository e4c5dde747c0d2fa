// Which Node built-ins a package's root entry reaches: esbuild bundles it for a browser,
// every @p2psp/* import resolved to its src/ (as the tests do, so no build is needed), and
// each built-in is reported with the chain of imports that reaches it from the root.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { exportTarget, workspaceAliases, workspaceRoot } from './workspace.mjs';

const builtins = new Set(builtinModules);

/** `node:x`, or a bare built-in name (`fs`, `fs/promises`) that a browser cannot resolve. */
function isNodeBuiltin(specifier) {
  return specifier.startsWith('node:') || builtins.has(specifier);
}

/**
 * The Node built-ins the root entry of the package in `packageDir` reaches, each with the
 * import chain from the root (paths relative to the workspace). Empty when it is clean.
 */
export async function nodeImportsOfRoot(packageDir) {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const built = exportTarget(pkg.exports?.['.']) ?? './dist/index.js';
  const entry = resolve(packageDir, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
  const aliases = workspaceAliases();
  const found = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: workspaceRoot,
    plugins: [
      {
        name: 'p2psp-browser-check',
        setup(context) {
          context.onResolve({ filter: /^@p2psp\// }, (args) => {
            const alias = aliases.find(({ find }) => find.test(args.path));
            return alias ? { path: alias.replacement } : undefined;
          });
          context.onResolve({ filter: /.*/ }, (args) => {
            if (!isNodeBuiltin(args.path)) return undefined;
            found.push({ importer: relative(workspaceRoot, args.importer), specifier: args.path });
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const imports = new Map(
    Object.entries(result.metafile.inputs).map(([file, input]) => [
      file,
      input.imports.filter((edge) => !edge.external).map((edge) => edge.path),
    ]),
  );
  const root = relative(workspaceRoot, entry);
  return found.map(({ importer, specifier }) => ({
    specifier,
    chain: [...chainTo(imports, root, importer), specifier],
  }));
}

/** The shortest import chain from `from` to `to` (breadth first over the bundle's inputs). */
function chainTo(imports, from, to) {
  const previous = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === to) break;
    for (const next of imports.get(file) ?? []) {
      if (previous.has(next)) continue;
      previous.set(next, file);
      queue.push(next);
    }
  }
  const chain = [];
  for (let file = to; file !== null && file !== undefined; file = previous.get(file)) {
    chain.unshift(file);
  }
  return chain;
}
