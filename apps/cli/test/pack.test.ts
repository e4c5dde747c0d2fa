import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The published artefacts work outside the workspace: `pnpm pack` every published package
 * (packages/* and apps/* without `"private": true`), `npm install` the tarballs into a
 * scratch project under the OS temp dir (the workspace packages from the tarballs, their
 * third-party dependencies from the npm cache or registry), then use them as a user would:
 * a source and a peer on loopback from plain ESM, classes compared across subpaths,
 * `require()`, a TypeScript consumer (NodeNext), and the `p2psp` command. Needs every
 * package's dist/: turbo's test task runs after this app's build, which builds them all.
 */

const execFileAsync = promisify(execFile);

/** Runs a command; on failure the error names the command and carries its output. */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; timeout?: number },
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

const workspace = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const tsc = createRequire(join(workspace, 'apps/cli/package.json')).resolve('typescript/bin/tsc');

interface Published {
  readonly name: string;
  readonly dir: string;
  readonly main: string | null;
  readonly files: readonly string[];
}

/** Every published package of the workspace. */
const published: Published[] = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(workspace, group)).flatMap((name) => {
    const dir = join(workspace, group, name);
    if (!existsSync(join(dir, 'package.json'))) return [];
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.private === true) return [];
    const main = pkg.exports?.['.']?.default ?? (pkg.bin ? Object.values(pkg.bin)[0] : null);
    return [{ name: pkg.name as string, dir, main: main as string | null, files: pkg.files }];
  }),
);

let scratch = '';
let project = '';

beforeAll(async () => {
  // A build running at the same moment (another turbo run in the same tree) empties dist/
  // for a few seconds: wait for it, bounded, before packing.
  const built = () =>
    published.every(({ dir, main }) => main === null || existsSync(join(dir, main)));
  for (let attempt = 0; attempt < 40 && !built(); attempt++) await sleep(500);
  const missing = published.filter(
    ({ dir, main }) => main !== null && !existsSync(join(dir, main)),
  );
  if (missing.length > 0) {
    throw new Error(
      `not built: ${missing.map(({ name }) => name).join(', ')}: run \`pnpm turbo run build\` first`,
    );
  }
  scratch = mkdtempSync(join(tmpdir(), 'p2psp-pack-'));
  const packed = join(scratch, 'packed');
  for (const { dir } of published) {
    await run('pnpm', ['pack', '--pack-destination', packed], { cwd: dir });
  }
  const tarballs = readdirSync(packed).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== published.length) {
    throw new Error(`pnpm pack wrote ${tarballs.length} tarballs for ${published.length} packages`);
  }
  project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'p2psp-consumer', private: true, type: 'module' }),
  );
  // All tarballs in one install: each @p2psp dependency is met by its tarball, never by
  // the registry; third-party ones (@types/node, the CLI's commander and pino) come from
  // the npm cache when there, else the registry.
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...tarballs.map((name) => join(packed, name)),
    ],
    { cwd: project, timeout: 150_000 },
  );
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function node(script: string, code: string): Promise<unknown> {
  writeFileSync(join(project, script), code);
  const { stdout } = await run(process.execPath, [script], { cwd: project, timeout: 60_000 });
  return JSON.parse(stdout);
}

// npm installs, a stream on loopback and tsc runs: allow for a busy 2-core CI machine.
describe('the packed tarballs', { timeout: 90_000 }, () => {
  it('cover every published package and ship only what package.json lists', () => {
    expect(published.map(({ name }) => name)).toEqual(
      expect.arrayContaining([
        '@p2psp/wire',
        '@p2psp/media',
        '@p2psp/nat',
        '@p2psp/cluster',
        '@p2psp/host',
        '@p2psp/source',
        '@p2psp/peer',
        'p2psp',
      ]),
    );
    for (const { name, files } of published) {
      const installed = join(project, 'node_modules', name);
      // npm nests a dependency it cannot hoist in node_modules: not part of the tarball.
      const shipped = readdirSync(installed).filter((entry) => entry !== 'node_modules');
      expect(shipped.sort(), name).toEqual([...files, 'package.json'].sort());
      const dist = readdirSync(join(installed, 'dist'), { recursive: true }).map(String);
      expect(
        dist.filter((file) => file.includes('.test.')),
        name,
      ).toEqual([]);
    }
  });

  it('stream: a source and a peer from the tarballs play bytes to an HTTP player', async () => {
    const result = await node(
      'stream.mjs',
      `import { demoSamplePath } from '@p2psp/media/assets';
import { startPeer } from '@p2psp/peer/node';
import { startSource } from '@p2psp/source/node';

const source = await startSource({ input: demoSamplePath, loop: true, address: '127.0.0.1', port: 0 });
const peer = await startPeer({
  source: source.endpoint, address: '127.0.0.1', port: 0, playerPort: 0, natDetect: false,
});
const response = await fetch(peer.playerUrl);
const reader = response.body.getReader();
let bytes = new Uint8Array(0);
const deadline = Date.now() + 20_000;
while (bytes.length < 16 * 1024 && Date.now() < deadline) {
  const { value, done } = await reader.read();
  if (done) break;
  bytes = new Uint8Array([...bytes, ...value]);
}
await reader.cancel();
await peer.stop();
await source.stop();
console.log(JSON.stringify({
  status: response.status,
  contentType: response.headers.get('content-type'),
  bytes: bytes.length,
  // Players start at a sync point: an MPEG audio frame header (11 set bits).
  frameSync: bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0,
}));
`,
    );
    expect(result).toEqual({
      status: 200,
      contentType: 'audio/mpeg',
      bytes: expect.any(Number),
      frameSync: true,
    });
    expect((result as { bytes: number }).bytes).toBeGreaterThanOrEqual(16 * 1024);
  });

  it('each class is defined once across subpaths, so instanceof holds', async () => {
    const result = await node(
      'classes.mjs',
      `import { demoSamplePath } from '@p2psp/media/assets';
import { EndpointSyntaxError, parseEndpoint } from '@p2psp/host';
import { NatError } from '@p2psp/nat';
import { resolveEndpoint } from '@p2psp/nat/node';
import { PeerCore } from '@p2psp/peer';
import { startPeer } from '@p2psp/peer/node';
import { SourceConfigError, SourceCore } from '@p2psp/source';
import { startSource } from '@p2psp/source/node';
import { P2pspError } from '@p2psp/wire';

const caught = async (promise) => promise.then(() => null, (error) => error);
const source = await startSource({ input: demoSamplePath, loop: true, address: '127.0.0.1', port: 0 });
const peer = await startPeer({
  source: source.endpoint, address: '127.0.0.1', port: 0, playerPort: 0, natDetect: false,
});
const configError = await caught(
  startSource({ input: demoSamplePath, address: '127.0.0.1', port: 0, chunkSize: 100_000 }),
);
const natError = await caught(resolveEndpoint('127.0.0.1:99999', 3478));
let syntaxError = null;
try { parseEndpoint('nowhere'); } catch (error) { syntaxError = error; }
const result = {
  sourceCore: source.core instanceof SourceCore,
  peerCore: peer.core instanceof PeerCore,
  sourceConfigError: configError instanceof SourceConfigError && configError instanceof P2pspError,
  natError: natError instanceof NatError && natError instanceof P2pspError,
  endpointSyntaxError: syntaxError instanceof EndpointSyntaxError && syntaxError instanceof P2pspError,
};
await peer.stop();
await source.stop();
console.log(JSON.stringify(result));
`,
    );
    expect(result).toEqual({
      sourceCore: true,
      peerCore: true,
      sourceConfigError: true,
      natError: true,
      endpointSyntaxError: true,
    });
  });

  // Node 20.19 and later load ES modules with require() (no flag): the packages ship ESM
  // only, with a `default` export condition, so CommonJS consumers get the same classes.
  it.runIf((process.features as { require_module?: boolean }).require_module === true)(
    'require() loads every root, the same modules as import',
    async () => {
      const result = await node(
        'require.mjs',
        `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const names = ['@p2psp/wire', '@p2psp/media', '@p2psp/nat', '@p2psp/cluster', '@p2psp/host', '@p2psp/source', '@p2psp/peer'];
const same = {};
for (const name of names) same[name] = require(name) === (await import(name));
const { decodeDatagram, encodeDatagram } = require('@p2psp/wire');
const decoded = decodeDatagram(encodeDatagram({ type: 'hello', memberId: 1, nonce: 2 }));
console.log(JSON.stringify({ same, nonce: decoded.ok ? decoded.message.nonce : null }));
`,
      );
      expect(result).toEqual({
        same: {
          '@p2psp/wire': true,
          '@p2psp/media': true,
          '@p2psp/nat': true,
          '@p2psp/cluster': true,
          '@p2psp/host': true,
          '@p2psp/source': true,
          '@p2psp/peer': true,
        },
        nonce: 2,
      });
    },
  );

  it('encodes and decodes a chunk from a plain ESM script', async () => {
    const result = await node(
      'codec.mjs',
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
    expect(result).toEqual({
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

  it('typechecks a TypeScript consumer of every entry with moduleResolution NodeNext', {
    timeout: 180_000,
  }, async () => {
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
        },
        include: ['use.ts', 'wrong.ts'],
      }),
    );
    writeFileSync(
      join(project, 'use.ts'),
      `import { type DecodeResult, type DatagramMessage, decodeDatagram, encodeDatagram, FrameDecoder, chunkNumberAfter } from '@p2psp/wire';
import { type HostCounters, parseEndpoint } from '@p2psp/host';
import { detectMediaType } from '@p2psp/media';
import { demoSamplePath } from '@p2psp/media/assets';
import { classifyNat } from '@p2psp/nat';
import { type DetectNatOptions } from '@p2psp/nat/node';
import { MembershipTable } from '@p2psp/cluster';
import { SourceCore } from '@p2psp/source';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { PeerCore } from '@p2psp/peer';
import { type PeerHandle, startPeer } from '@p2psp/peer/node';
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
export const port: number = parseEndpoint('127.0.0.1:4552').port;
export const media = detectMediaType;
export const sample: string = demoSamplePath;
export const classify = classifyNat;
export type Detect = DetectNatOptions['server'];
export type Members = MembershipTable;
export const isSource = (handle: SourceHandle): boolean => handle.core instanceof SourceCore;
export const isPeer = (handle: PeerHandle): boolean => handle.core instanceof PeerCore;
export const datagrams = (counters: HostCounters): number => counters.datagramsSent;
export const starts = [startSource, startPeer] as const;
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

  it('installs the p2psp command', async () => {
    const { stdout } = await run(join(project, 'node_modules/.bin/p2psp'), ['--version'], {
      cwd: project,
    });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
