import { createInterface } from 'node:readline';

/** Agents talk to the test harness in JSON lines: stdout out, stdin in. */
export function emit(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const input = createInterface({ input: process.stdin });
const pending: string[] = [];
const waiters: Array<(line: string) => void> = [];
input.on('line', (line) => {
  const waiter = waiters.shift();
  if (waiter) waiter(line);
  else pending.push(line);
});

/** The next JSON line from the harness. */
export function receive<T>(): Promise<T> {
  const line = pending.shift();
  if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
  return new Promise((resolve) => waiters.push((next) => resolve(JSON.parse(next) as T)));
}

/** `--name value` command-line options. */
export function options(): Map<string, string> {
  const result = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let index = 0; index + 1 < argv.length; index += 2) {
    const name = argv[index] ?? '';
    if (name.startsWith('--')) result.set(name.slice(2), argv[index + 1] ?? '');
  }
  return result;
}

export function required(values: Map<string, string>, name: string): string {
  const value = values.get(name);
  if (value === undefined) {
    emit({ type: 'error', message: `missing --${name}` });
    process.exit(2);
  }
  return value;
}

/** Agents never outlive the harness: stop when stdin closes or after a hard limit. */
export function bounded(lifetimeMilliseconds: number): void {
  const timer = setTimeout(() => process.exit(3), lifetimeMilliseconds);
  timer.unref();
  input.on('close', () => process.exit(0));
}
