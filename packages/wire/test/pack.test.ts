import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The published artefact works outside the workspace: `pnpm pack` the built package,
 * `npm install` the tarball into a scratch project under the OS temp dir, then import it
 * from plain ESM and typecheck a TypeScript file against its declarations (NodeNext).
 * Needs `dist/`: turbo's test task runs after this package's build.
 */

const execFileAsync = promisify(execFile);

/** Runs a command; on failure the error names the command and carries its output. */
async function run(
  command: string,
  args: string[],
  options: { cwd: string },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { ...options, encoding: 'utf8' });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw Object.assign(new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`), {
      stdout,
      stderr,
    });
  }
}
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(join(packageDir, 'package.json')).resolve('typescript/bin/tsc');
let scratch = '';

beforeAll(async () => {
  // A build running at the same moment (another turbo run in the same tree) empties dist/
  // for a few seconds: wait for it, bounded, before packing.
  const built = () =>
    existsSync(join(packageDir, 'dist/index.js')) &&
    existsSync(join(packageDir, 'dist/index.d.ts'));
  for (let attempt = 0; attempt < 40 && !built(); attempt++) await sleep(500);
  if (!built()) {
    throw new Error('packages/wire/dist is missing: run `pnpm --filter @p2psp/wire build` first');
  }
  scratch = mkdtempSync(join(tmpdir(), 'p2psp-wire-pack-'));
  const packed = join(scratch, 'packed');
  await run('pnpm', ['pack', '--pack-destination', packed], { cwd: packageDir });
  const tarball = readdirSync(packed).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack wrote no tarball in ${packed}`);
  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'wire-consumer', private: true, type: 'module' }),
  );
  // The package has no dependencies, so installing the tarball needs no registry.
  await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(packed, tarball)],
    { cwd: project },
  );
}, 60_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// npm install and two tsc runs: allow up to a minute on a busy 2-core CI machine.
describe('the packed tarball', { timeout: 60_000 }, () => {
  it('ships only dist, README and package.json', async () => {
    const installed = join(scratch, 'project/node_modules/@p2psp/wire');
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json']);
    expect(readdirSync(join(installed, 'dist')).some((name) => name.includes('.test.'))).toBe(
      false,
    );
  });

  it('encodes and decodes a chunk from a plain ESM script', async () => {
    const script = join(scratch, 'project/use.mjs');
    writeFileSync(
      script,
      `import { decodeDatagram, encodeDatagram, PROTOCOL_VERSION } from '@p2psp/wire';
const payload = new Uint8Array(1024).map((_, index) => index % 251);
const bytes = encodeDatagram({
  type: 'chunk', chunkNumber: 0xfffffffe, origin: 3,
  flags: { nonExclusive: false, recovered: true }, payload, signature: new Uint8Array(0),
});
const result = decodeDatagram(bytes);
if (!result.ok) throw new Error(result.error.detail);
const m = result.message;
console.log(JSON.stringify({
  version: PROTOCOL_VERSION, length: bytes.length, type: m.type, chunkNumber: m.chunkNumber,
  origin: m.origin, recovered: m.flags.recovered, payloadOk: m.payload.every((v, i) => v === payload[i]),
  zeroCopy: m.payload.buffer === bytes.buffer,
}));
`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: join(scratch, 'project') });
    expect(JSON.parse(stdout)).toEqual({
      version: 1,
      length: 1038,
      type: 'chunk',
      chunkNumber: 0xffff_fffe,
      origin: 3,
      recovered: true,
      payloadOk: true,
      zeroCopy: true,
    });
  });

  it('typechecks a TypeScript consumer with moduleResolution NodeNext', async () => {
    const project = join(scratch, 'project');
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: [],
        },
        include: ['use.ts', 'wrong.ts'],
      }),
    );
    writeFileSync(
      join(project, 'use.ts'),
      `import { type DecodeResult, type DatagramMessage, decodeDatagram, encodeDatagram, FrameDecoder, chunkNumberAfter } from '@p2psp/wire';
const bytes: Uint8Array = encodeDatagram({ type: 'hello', memberId: 1, nonce: 2 });
const result: DecodeResult<DatagramMessage> = decodeDatagram(bytes);
export let nonce = 0;
export let code: 'unknown-type' | 'truncated' | 'bad-version' | 'bad-length' | 'bad-value' | 'frame-too-large' | null = null;
if (result.ok && result.message.type === 'hello') nonce = result.message.nonce;
else if (!result.ok) code = result.error.code;
const decoder = new FrameDecoder({ maxFrameBytes: 4096 });
decoder.push(bytes);
export const types: string[] = [];
for (const frame of decoder) if (frame.ok) types.push(frame.message.type);
export const after: boolean = chunkNumberAfter(0, 0xffffffff);
export const buffered: number = decoder.bufferedBytes;
`,
    );
    const typecheck = () =>
      run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], { cwd: project }).then(
        () => 'no errors',
        (error: { stdout: string }) => error.stdout,
      );
    expect(await typecheck()).toBe('no errors');
    // And the types are real: a wrong message is refused.
    writeFileSync(
      join(project, 'wrong.ts'),
      `import { encodeDatagram } from '@p2psp/wire';\nencodeDatagram({ type: 'hello', memberId: 'one', nonce: 2 });\n`,
    );
    expect(await typecheck()).toMatch(/wrong\.ts.*TS2322/);
  });
});
