import { execFileSync, spawnSync } from 'node:child_process';

/** A command the tests need, and the Debian package that provides it. */
export interface SystemTool {
  readonly command: string;
  readonly debianPackage: string;
}

export const FFMPEG: SystemTool = { command: 'ffmpeg', debianPackage: 'ffmpeg' };
export const ICECAST: SystemTool = { command: 'icecast2', debianPackage: 'icecast2' };
export const LIQUIDSOAP: SystemTool = { command: 'liquidsoap', debianPackage: 'liquidsoap' };
export const COTURN: SystemTool = { command: 'turnserver', debianPackage: 'coturn' };
export const NFT: SystemTool = { command: 'nft', debianPackage: 'nftables' };
export const IPTABLES: SystemTool = { command: 'iptables', debianPackage: 'iptables' };
export const IPROUTE: SystemTool = { command: 'ip', debianPackage: 'iproute2' };
export const CHROMIUM: SystemTool = { command: 'chromium', debianPackage: 'chromium' };
export const PROMTOOL: SystemTool = { command: 'promtool', debianPackage: 'prometheus' };

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = (): boolean => process.getuid?.() === 0;
const inCi = (): boolean => process.env.CI === 'true' || process.env.CI === '1';

/**
 * Makes sure every tool is on PATH. Missing tools are installed with apt-get when running
 * as root (apt-get update first; serialised with flock, since turbo runs packages' tests in
 * parallel). Returns the tools still missing: the caller skips with that reason, except in
 * CI, where a missing tool throws so the run fails loudly instead of skipping silently.
 */
export function ensureSystemTools(tools: readonly SystemTool[]): string[] {
  let missing = tools.filter((tool) => !hasCommand(tool.command));
  if (missing.length > 0 && isRoot()) {
    const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
    const script = [
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -qq',
      `apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`,
    ].join(' && ');
    try {
      execFileSync('flock', ['/tmp/p2psp-apt.lock', 'sh', '-c', script], {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 15 * 60_000,
      });
    } catch (error) {
      if (inCi()) throw new Error(`apt-get install ${packages.join(' ')} failed: ${String(error)}`);
    }
    missing = tools.filter((tool) => !hasCommand(tool.command));
  }
  const names = missing.map((tool) => `${tool.command} (Debian package ${tool.debianPackage})`);
  if (names.length > 0 && inCi()) {
    throw new Error(
      `CI=true and these tools are missing: ${names.join(', ')}; run as root so the test setup can apt-get install them`,
    );
  }
  return names;
}
