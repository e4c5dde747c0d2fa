import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PATTERN = /^p2psp-natlab-[a-z]+-(\d+)$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let swept = false;

/**
 * A temporary folder `p2psp-natlab-<kind>-<pid>` for this process. Test workers do not
 * always run their exit handlers, so instead of relying on them, the first call also removes
 * the folders of processes that are gone.
 */
export function scratchFolder(kind: string): string {
  if (!swept) {
    swept = true;
    for (const name of readdirSync(tmpdir())) {
      const match = PATTERN.exec(name);
      if (match && !alive(Number(match[1]))) {
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
      }
    }
  }
  const folder = join(tmpdir(), `p2psp-natlab-${kind}-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  return folder;
}
