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
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, P2PSP_LOG_LEVEL: 'warn' },
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
      /chunkSize 9000.*MTU.*P2PSP_ERR_CHUNK_SIZE/,
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

  it('refuses an unreachable input URL', async () => {
    const result = await p2psp('source', '--input', `http://127.0.0.1:${closedPort}/radio.mp3`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unreachable \(ECONNREFUSED\).*P2PSP_ERR_INGEST_UNREACHABLE/);
  });

  it('refuses a source port in use', async () => {
    const result = await p2psp(
      'source',
      '--input',
      demoSample,
      '--address',
      '127.0.0.1',
      '--port',
      String(busyPort),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`--port ${busyPort} is already in use.*P2PSP_ERR_PORT_IN_USE`),
    );
  });

  it('refuses a player port in use', async () => {
    const result = await p2psp(
      'peer',
      '--source',
      `127.0.0.1:${closedPort}`,
      '--player-port',
      String(busyPort),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`--player-port ${busyPort} is already in use.*P2PSP_ERR_PORT_IN_USE`),
    );
  });

  it('fails to join a source that is not there, naming the fix', async () => {
    const result = await p2psp('peer', '--source', `127.0.0.1:${closedPort}`, '--player-port', '0');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /could not join the source at 127\.0\.0\.1:\d+.*P2PSP_ERR_JOIN_FAILED/,
    );
  });
});
