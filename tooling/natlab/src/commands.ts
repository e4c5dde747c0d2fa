import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { errorCodes, P2pspError, type P2pspErrorTable } from '@p2psp/wire';

/** Why a lab step failed: the lab's own machinery (namespaces, processes, agents). */
export type NatLabErrorCode =
  | 'P2PSP_ERR_NATLAB_COMMAND'
  | 'P2PSP_ERR_NATLAB_SPAWN'
  | 'P2PSP_ERR_NATLAB_PROCESS_EXITED'
  | 'P2PSP_ERR_NATLAB_PROCESS_TIMEOUT'
  | 'P2PSP_ERR_NATLAB_DESTROYED'
  | 'P2PSP_ERR_NATLAB_LINK_EMULATOR'
  | 'P2PSP_ERR_NATLAB_STUN_START'
  | 'P2PSP_ERR_NATLAB_COTURN_START'
  | 'P2PSP_ERR_NATLAB_DETECT'
  | 'P2PSP_ERR_NATLAB_AGENT'
  | 'P2PSP_ERR_NATLAB_AGENT_TIMEOUT';

export const NATLAB_ERRORS: P2pspErrorTable<NatLabErrorCode> = {
  P2PSP_ERR_NATLAB_COMMAND: {
    kind: 'environment',
    message: 'a setup command failed; the lab needs root and iproute2/nftables',
  },
  P2PSP_ERR_NATLAB_SPAWN: { kind: 'environment', message: 'a lab process failed to start' },
  P2PSP_ERR_NATLAB_PROCESS_EXITED: {
    kind: 'environment',
    message: 'a lab process exited before printing a line',
  },
  P2PSP_ERR_NATLAB_PROCESS_TIMEOUT: {
    kind: 'environment',
    message: 'a lab process printed nothing in time',
  },
  P2PSP_ERR_NATLAB_DESTROYED: {
    kind: 'usage',
    message: 'the lab was destroyed; create a new one',
  },
  P2PSP_ERR_NATLAB_LINK_EMULATOR: {
    kind: 'environment',
    message: 'the link emulator did not start',
  },
  P2PSP_ERR_NATLAB_STUN_START: { kind: 'environment', message: 'the STUN server did not start' },
  P2PSP_ERR_NATLAB_COTURN_START: { kind: 'environment', message: 'turnserver did not start' },
  P2PSP_ERR_NATLAB_DETECT: { kind: 'environment', message: 'the NAT detector failed' },
  P2PSP_ERR_NATLAB_AGENT: { kind: 'environment', message: 'a punch-host agent failed' },
  P2PSP_ERR_NATLAB_AGENT_TIMEOUT: {
    kind: 'environment',
    message: 'a punch-host agent did not answer in time',
  },
};

export const NATLAB_ERROR_CODES = errorCodes(NATLAB_ERRORS);

/** Thrown when a lab command fails; `code` is stable, the message names the command and the fix. */
export class NatLabError extends P2pspError<NatLabErrorCode> {
  override readonly name = 'NatLabError';

  constructor(code: NatLabErrorCode, message?: string) {
    super(code, NATLAB_ERRORS[code], message);
  }
}

/** Runs a setup command synchronously (ip, nft, tc, sysctl); throws with its stderr. */
export function runSync(command: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new NatLabError(
      'P2PSP_ERR_NATLAB_COMMAND',
      `${command} ${args.join(' ')} failed: ${stderr.trim() || String(error)} (the lab needs root and iproute2/nftables; see tooling/natlab/README.md)`,
    );
  }
}

/** Like runSync, but failures are ignored (teardown must go on). */
export function runQuiet(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // Teardown is best effort: a namespace already gone is fine.
  }
}

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process started inside a namespace; killed by PID when the lab is destroyed. */
export class LabProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<CommandResult>;
  private readonly lineWaiters: Array<(line: string) => void> = [];
  private readonly bufferedLines: string[] = [];
  private stdoutText = '';
  private stderrText = '';
  private done = false;

  constructor(child: ChildProcess, onExit: (process: LabProcess) => void) {
    if (child.pid === undefined) {
      throw new NatLabError('P2PSP_ERR_NATLAB_SPAWN', 'a lab process failed to start (no PID)');
    }
    this.pid = child.pid;
    this.child = child;
    if (child.stdout) {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        this.stdoutText += `${line}\n`;
        const waiter = this.lineWaiters.shift();
        if (waiter) waiter(line);
        else this.bufferedLines.push(line);
      });
    }
    child.stderr?.on('data', (data: Buffer) => {
      // Bounded: a chatty process must not grow memory without limit.
      if (this.stderrText.length < 64_000) this.stderrText += data.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (exitCode, signal) => {
        this.done = true;
        onExit(this);
        for (const waiter of this.lineWaiters.splice(0)) waiter('');
        resolve({ exitCode, signal, stdout: this.stdoutText, stderr: this.stderrText });
      });
      child.on('error', (error) => {
        this.stderrText += String(error);
      });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The next stdout line; rejects after `timeoutMilliseconds` or when the process ends first. */
  nextLine(timeoutMilliseconds: number): Promise<string> {
    const buffered = this.bufferedLines.shift();
    if (buffered !== undefined) return Promise.resolve(buffered);
    if (this.done) {
      return Promise.reject(
        new NatLabError(
          'P2PSP_ERR_NATLAB_PROCESS_EXITED',
          `process ${this.pid} exited before printing a line; stderr: ${this.stderrText.slice(-2000)}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.lineWaiters.indexOf(waiter);
        if (index >= 0) this.lineWaiters.splice(index, 1);
        reject(
          new NatLabError(
            'P2PSP_ERR_NATLAB_PROCESS_TIMEOUT',
            `process ${this.pid} printed nothing within ${timeoutMilliseconds} ms; stderr: ${this.stderrText.slice(-2000)}`,
          ),
        );
      }, timeoutMilliseconds);
      const waiter = (line: string): void => {
        clearTimeout(timer);
        if (this.done && line === '') {
          reject(
            new NatLabError(
              'P2PSP_ERR_NATLAB_PROCESS_EXITED',
              `process ${this.pid} exited before printing a line; stderr: ${this.stderrText.slice(-2000)}`,
            ),
          );
        } else resolve(line);
      };
      this.lineWaiters.push(waiter);
    });
  }

  /** Writes one line to the process's stdin. */
  writeLine(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  async stop(graceMilliseconds = 2_000): Promise<CommandResult> {
    if (!this.done) {
      signalPid(this.pid, 'SIGTERM');
      const timer = setTimeout(() => signalPid(this.pid, 'SIGKILL'), graceMilliseconds);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }

  get running(): boolean {
    return !this.done;
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Spawns `ip netns exec NAMESPACE command args`; `ip` execs the command, so the PID is its own. */
export function spawnInNamespace(
  namespace: string,
  command: string,
  args: readonly string[],
  onExit: (process: LabProcess) => void,
): LabProcess {
  const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new LabProcess(child, onExit);
}
