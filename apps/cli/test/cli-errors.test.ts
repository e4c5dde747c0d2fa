import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built bundle, the file users run (turbo builds it before testing).
const bundle = join(import.meta.dirname, '../dist/p2psp.mjs');
const demoSample = join(import.meta.dirname, '../../../packages/media/assets/demo.mp3');

/** Runs the CLI, killing it (by its PID) if it outlives the bound. */
function p2psp(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return p2pspWithEnv({}, ...args);
}

function p2pspWithEnv(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, P2PSP_LOG_LEVEL: 'warn', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (bytes: Buffer) => {
      stderr += bytes.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe('p2psp source/peer: clear errors, non-zero exit', () => {
  let web: Server;
  let webPort = 0;
  let busy: net.Server;
  let busyPort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    web = createServer((request, response) => {
      if (request.url === '/page') {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end('<html>a web page</html>');
        return;
      }
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as AddressInfo).port;
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as AddressInfo).port;
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  afterAll(() => {
    web.close();
    busy.close();
  });

  it.each([
    [
      ['peer', '--source', 'nowhere'],
      /--source: 'nowhere' is not HOST:PORT.*P2PSP_ERR_BAD_ADDRESS/,
    ],
    [['peer', '--source', '127.0.0.1:70000'], /from 1 to 65535.*P2PSP_ERR_BAD_ADDRESS/],
    [
      ['source', '--input', demoSample, '--port', '65536'],
      /--port.*65536.*integer from 0 to 65535/,
    ],
    [['source', '--input', demoSample, '--buffer', '1'], /--buffer.*integer from 2 to 65536/],
    [['source', '--input', demoSample, '--bitrate', 'fast'], /--bitrate.*bits per second/],
    [
      ['source', '--input', demoSample, '--chunk-size', '9000'],
      /--chunk-size <bytes>' argument '9000' is invalid.*64 to 1420.*MTU.*P2PSP_ERR_CHUNK_SIZE/,
    ],
    // The help says 64-1420: the largest payload whose datagram fits a 1,500-byte MTU over
    // IPv6 too (the core alone would take up to the IPv4 bound, 1,458).
    [
      ['source', '--input', demoSample, '--chunk-size', '1421'],
      /'1421' is invalid\. expected 64 to 1420 payload bytes.*P2PSP_ERR_CHUNK_SIZE/,
    ],
    [
      ['source', '--input', demoSample, '--chunk-size', '63'],
      /'63' is invalid\. expected 64 to 1420.*P2PSP_ERR_CHUNK_SIZE/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--log-level', 'loud'],
      /--log-level <level>' argument 'loud' is invalid\. expected one of trace, debug, info, warn, error, fatal, silent\. \[P2PSP_ERR_BAD_OPTION\]/,
    ],
    [
      ['source', '--input', demoSample, '--log-level', 'verbose'],
      /'verbose' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [['demo', '--log-level', 'INFO'], /'INFO' is invalid.*P2PSP_ERR_BAD_OPTION/],
    [
      [
        'bridge',
        '--from',
        'http://127.0.0.1:9/stream',
        '--to',
        'icecast://source:x@127.0.0.1:9/a.mp3',
        '--log-level',
        '3',
      ],
      /'3' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    // Addresses to bind are IP literals, checked as text: no DNS query for a typo.
    [
      ['peer', '--source', '127.0.0.1:9', '--player-address', 'players.example'],
      /--player-address <ip>' argument 'players\.example' is invalid\. expected an IP address.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--address', '10.0.0'],
      /'10\.0\.0' is invalid\. expected an IP address.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--address', 'any'],
      /'any' is invalid\. expected an IP address.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--status-address', 'status.example'],
      /--status-address <ip>' argument 'status\.example' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--alternate-address', '192.0.2'],
      /--alternate-address <ip>' argument '192\.0\.2' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    // Trees of clusters: other sources are IP:PORT (matched with where reports come from).
    [
      ['source', '--input', demoSample, '--child', 'child.example:4552'],
      /--child <ip:port>' argument 'child\.example:4552' is invalid\. expected IP:PORT of a source.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--child', '192.0.2.7:4552', '--child', '192.0.2.8'],
      /--child <ip:port>' argument '192\.0\.2\.8' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--parent', '192.0.2.7:70000'],
      /--parent <ip:port>' argument '192\.0\.2\.7:70000' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--parent', '127.0.0.1:4552', '--port', '0'],
      /--parent: the parent must be told the port this source takes joins on; give --port \(not 0\).*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['nat', 'serve', '--address', 'stun.example'],
      /'stun\.example' is invalid\. expected an IP address.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['nat', 'detect', '--stun', '127.0.0.1:9', '--local-address', 'me'],
      /--local-address <ip>' argument 'me' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    // Every number, and commander's own errors, end with a code too.
    [
      ['peer', '--source', '127.0.0.1:9', '--max-players', '0'],
      /--max-players <count>' argument '0' is invalid\. expected an integer from 1 to 65535\. \[P2PSP_ERR_BAD_OPTION\]/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--max-players-per-address', 'many'],
      /'many' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--player-port', '65536'],
      /'65536' is invalid\. expected an integer from 0 to 65535.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--playout-delay-ms', '0'],
      /'0' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--monitor', '--liberated'],
      /--monitor and --liberated both given.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--rejoin-timeout', '-5'],
      /--rejoin-timeout <seconds>' argument '-5' is invalid\. expected an integer from 0 to 86400\. \[P2PSP_ERR_BAD_OPTION\]/,
    ],
    [
      ['source', '--input', demoSample, '--max-members', '-1'],
      /'-1' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--max-members-per-address', '0'],
      /--max-members-per-address <count>' argument '0' is invalid\. expected an integer from 1 to 1000000\. \[P2PSP_ERR_BAD_OPTION\]/,
    ],
    [
      ['source', '--input', demoSample, '--max-joins-per-address', '1.5'],
      /'1\.5' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--join-rate', 'fast'],
      /'fast' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--member-timeout', 'soon'],
      /'soon' is invalid\. expected seconds.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--complaints-by', 'mac'],
      /'mac' is invalid\. expected 'endpoint' or 'ip'.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--complaint-threshold', '0'],
      /'0' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--complaint-threshold-ms', '2s'],
      /'2s' is invalid\. expected milliseconds of stream.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      [
        'source',
        '--input',
        demoSample,
        '--complaint-threshold',
        '32',
        '--complaint-threshold-ms',
        '2048',
      ],
      /--complaint-threshold and --complaint-threshold-ms both given.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['monitor', '--source', '127.0.0.1:9', '--address', 'dashboard.example'],
      /'dashboard\.example' is invalid\. expected an IP address.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['monitor', '--source', '127.0.0.1:9', '--log-level', 'chatty'],
      /'chatty' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['monitor', '--source', '127.0.0.1:9', '--port', '65536'],
      /'65536' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['demo', '--peers', '33'],
      /'33' is invalid\. expected an integer from 1 to 32.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['nat', 'detect', '--stun', '127.0.0.1:9', '--timeout', '10'],
      /'10' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['nat', 'serve', '--address', '127.0.0.1', '--port', '0'],
      /'0' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['peer', '--source', '127.0.0.1:9', '--frobnicate'],
      /unknown option '--frobnicate'.*P2PSP_ERR_BAD_OPTION/,
    ],
    [['peer'], /required option '-s, --source <host:port>' not specified.*P2PSP_ERR_BAD_OPTION/],
    // p2psp node: the role and the flags must agree; p2psp ctl: its arguments.
    [
      ['node', '--role', 'relay'],
      /'relay' is invalid\. Allowed choices are source, peer, monitor, liberated.*P2PSP_ERR_BAD_OPTION/,
    ],
    [['node'], /--role peer needs --source HOST:PORT.*P2PSP_ERR_BAD_OPTION/],
    [
      ['node', '--role', 'source', '--input', demoSample, '--source', '127.0.0.1:9'],
      /--source is the cluster a peer joins.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['node', '--source', '127.0.0.1:9', '--input', demoSample],
      /--input and --listen-source are a source's.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['node', '--role', 'peer', '--source', '127.0.0.1:9', '--liberated'],
      /--liberated with --role peer: give --role liberated instead.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['node', '--source', '127.0.0.1:9', '--ctl-token', 'a-long-enough-secret'],
      /served on the status port: add --status-port.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['node', '--source', '127.0.0.1:9', '--status-port', '0', '--ctl-token', 'short'],
      /--ctl-token is shorter than 16 characters.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['ctl', '127.0.0.1:9', 'restart'],
      /'restart' is invalid for argument 'action'\. Allowed choices are status, role.*P2PSP_ERR_BAD_OPTION/,
    ],
    [['ctl', '127.0.0.1:9', 'role'], /role needs the role to take.*P2PSP_ERR_BAD_OPTION/],
    [
      ['ctl', '127.0.0.1:9', 'role', 'king'],
      /'king' is invalid for argument 'role'\. Allowed choices are source, peer, monitor, liberated, liberated\+source.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['ctl', '127.0.0.1:9', 'role', 'liberated+source', '--port', '70000'],
      /'70000' is invalid.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', '/nonexistent/radio.mp3'],
      /cannot be read \(ENOENT\).*P2PSP_ERR_INGEST_FILE/,
    ],
    [['source', '--input', 'ftp://example.org/x.mp3'], /only http:\/\/ and https:\/\//],
    [['source'], /--input URL\|FILE\|- or --listen-source.*P2PSP_ERR_BAD_OPTION/],
    [
      ['source', '--input', demoSample, '--listen-source', '8000/live.mp3'],
      /one of them.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--listen-source', '8000/live.mp3'],
      /--listen-source needs --source-password.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--listen-source', 'radio.example:8000/live', '--source-password', 'x'],
      /\[HOST:\]PORT\/MOUNT, e\.g\. 8000\/live\.mp3.*P2PSP_ERR_BAD_OPTION/,
    ],
    [
      ['source', '--input', demoSample, '--fallback', '/nonexistent/jingle.mp3'],
      /--fallback \/nonexistent\/jingle\.mp3 cannot be read.*P2PSP_ERR_INGEST_FILE/,
    ],
  ])('p2psp %j fails with a message naming the fix', async (args, expected) => {
    const result = await p2psp(...args);
    expect(result.status).toBe(1);
    expect(result.stderr.replace(/\n/g, ' ')).toMatch(expected);
    // A message, not a stack trace.
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('p2psp ctl names a status port nobody answers on', async () => {
    const result = await p2psp('ctl', `127.0.0.1:${closedPort}`, 'status');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no answer.*--status-port.*P2PSP_ERR_CTL_UNREACHABLE/);
  });

  it('checks P2PSP_LOG_LEVEL, which overrides --log-level, the same way', async () => {
    const result = await p2pspWithEnv(
      { P2PSP_LOG_LEVEL: 'loud' },
      'peer',
      '--source',
      `127.0.0.1:${closedPort}`,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /P2PSP_LOG_LEVEL=loud: expected one of trace, .*\[P2PSP_ERR_BAD_OPTION\]/,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses an input URL that answers 404', async () => {
    const result = await p2psp('source', '--input', `http://127.0.0.1:${webPort}/radio.ogg`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/HTTP 404.*check the mount name.*P2PSP_ERR_INGEST_HTTP_STATUS/);
  });

  it('refuses an input URL that serves a web page, not media', async () => {
    const result = await p2psp('source', '--input', `http://127.0.0.1:${webPort}/page`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /serves text\/html, not an audio\/video stream.*P2PSP_ERR_INGEST_NOT_MEDIA/,
    );
  });

  it('refuses an input URL whose port refuses the connection', async () => {
    const result = await p2psp('source', '--input', `http://127.0.0.1:${closedPort}/radio.mp3`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /refused the connection \(ECONNREFUSED\).*check the port.*P2PSP_ERR_INGEST_REFUSED/,
    );
  });

  /** `p2psp ARGS FLAG <a port in use>` exits 1 naming the flag, the port and the fix. */
  async function expectPortInUse(args: string[], flag: string, fix = '') {
    const result = await p2psp(...args, flag, String(busyPort));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`${flag} ${busyPort} is already in use${fix}.*P2PSP_ERR_PORT_IN_USE`),
    );
  }

  it('refuses a source port in use', () =>
    expectPortInUse(['source', '--input', demoSample, '--address', '127.0.0.1'], '--port'));

  it('refuses a player port in use', () =>
    expectPortInUse(['peer', '--source', `127.0.0.1:${closedPort}`], '--player-port'));

  it('refuses a status port in use', () =>
    expectPortInUse(
      ['source', '--input', demoSample, '--address', '127.0.0.1', '--port', '0'],
      '--status-port',
      ': .*pick another with --status-port',
    ));

  it('fails to join a source that is not there, naming the fix', async () => {
    const result = await p2psp('peer', '--source', `127.0.0.1:${closedPort}`, '--player-port', '0');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /could not join the source at 127\.0\.0\.1:\d+.*P2PSP_ERR_JOIN_FAILED/,
    );
  });
});
