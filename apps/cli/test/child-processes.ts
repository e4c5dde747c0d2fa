import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

// Child processes for the real-server and real-player tests: the built CLI bundle and ffmpeg,
// tracked so that afterEach/afterAll kills every one by PID, even when a test failed half way
// (brief rule 5).

const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');

export interface RunningChild {
  readonly child: ChildProcess;
  /** stderr lines that are pino JSON objects (the CLI logs JSON when not on a terminal). */
  readonly logs: () => Record<string, unknown>[];
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit status (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
}

export class ChildProcesses {
  private readonly children: ChildProcess[] = [];

  /** Starts any program, its stdout and stderr captured; `env` adds to this one's. */
  spawn(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningChild {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, P2PSP_LOG_LEVEL: 'info', ...env },
    });
    this.children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (bytes: Buffer) => {
      stdout += bytes.toString();
    });
    child.stderr!.on('data', (bytes: Buffer) => {
      stderr += bytes.toString();
    });
    const exited = new Promise<number | string>((resolve) => {
      child.on('close', (status, signal) => resolve(status ?? signal ?? 'unknown'));
    });
    return {
      child,
      exited,
      stdout: () => stdout,
      stderr: () => stderr,
      logs: () =>
        stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }

  /** Starts `p2psp ARGS` from the built bundle (apps/cli/dist/p2psp.mjs). */
  cli(...args: string[]): RunningChild {
    return this.spawn(process.execPath, [bundle, ...args]);
  }

  /** Kills one child by PID (SIGKILL unless told otherwise) if it still runs. */
  static kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Kills every child still running, by PID. */
  killAll(): void {
    for (const child of this.children.splice(0)) ChildProcesses.kill(child);
  }
}
