import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { scratchFolder } from './scratch.js';

/**
 * The programs the lab runs inside namespaces live in src/agents/*.ts. Node 20 cannot run
 * TypeScript, so each agent is bundled once per process with esbuild into a temporary .mjs,
 * with every `@p2psp/*` import taken from the workspace's sources (like the vitest preset
 * does), so the lab tests the code as it is now, without a prior build.
 */
export type AgentName =
  | 'udp-echo'
  | 'port-probe'
  | 'stun-server'
  | 'nat-detect'
  | 'punch-host'
  | 'lab-owner';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const workspaceRoot = join(packageRoot, '..', '..');
const bundled = new Map<AgentName, Promise<string>>();
async function bundle(name: AgentName): Promise<string> {
  const outfile = join(scratchFolder('agents'), `${name}.mjs`);
  await build({
    entryPoints: [join(packageRoot, 'src', 'agents', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    plugins: [
      {
        name: 'workspace-sources',
        setup(context) {
          // @p2psp/<name> -> <group>/<name>/src/index.ts
          context.onResolve({ filter: /^@p2psp\/[a-z-]+$/ }, (arguments_) => {
            const packageName = arguments_.path.slice('@p2psp/'.length);
            for (const group of ['packages', 'tooling', 'apps']) {
              const candidate = join(workspaceRoot, group, packageName, 'src', 'index.ts');
              if (existsSync(candidate)) return { path: candidate };
            }
            return undefined;
          });
        },
      },
    ],
  });
  return outfile;
}

/** The path of the bundled agent, ready for `lab.spawnNode(role, path, args)`. */
export function agentScript(name: AgentName): Promise<string> {
  let script = bundled.get(name);
  if (!script) {
    script = bundle(name);
    bundled.set(name, script);
  }
  return script;
}
