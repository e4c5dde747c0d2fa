import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSystemTools, FFMPEG, LIQUIDSOAP, type SystemTool } from '@p2psp/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { openPlayer, sleep, until } from './helpers.js';
import {
  decode,
  liquidsoapPushScript,
  logsNamed,
  PUSH_PASSWORD,
  startP2pspPeer,
  startPushSource,
} from './real-servers.js';

// Push in: radio software feeds `p2psp source --listen-source` as it would feed an Icecast
// mount. ffmpeg pushes with icecast:// (PUT), a raw legacy SOURCE client writes an Ogg/Opus
// stream over node:net, Liquidsoap's output.icecast pushes MP3 (Debian packages ffmpeg and
// liquidsoap). Refusals are answered as Icecast answers them, and a source client that drops
// and comes back leaves the players decoding: the gap is filled with silence.

const TOOLS: Record<string, SystemTool[]> = { ffmpeg: [FFMPEG], liquidsoap: [FFMPEG, LIQUIDSOAP] };
const missing: Record<string, string[]> = {};
beforeAll(() => {
  // Installs the packages when missing (as root); throws in CI if still missing.
  for (const [name, tools] of Object.entries(TOOLS)) missing[name] = ensureSystemTools(tools);
}, 15 * 60_000);

const processes = new ChildProcesses();
const folders: string[] = [];
afterEach(() => {
  processes.killAll();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const BASIC = `Basic ${Buffer.from(`source:${PUSH_PASSWORD}`).toString('base64')}`;

/** ffmpeg as an Icecast source client (PUT): a live 440 Hz MP3, paced by -re, bounded to 90 s. */
function ffmpegSourceClient(url: string): RunningChild {
  return processes.spawn('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-re'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '90'],
    ...['-c:a', 'libmp3lame', '-b:a', '128k', '-content_type', 'audio/mpeg', '-f', 'mp3', url],
  ]);
}

/** Sends a request head over node:net and returns what the server answered before closing. */
function rawAnswer(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (bytes) => {
      answer += bytes.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.write(head);
  });
}

/**
 * A legacy SOURCE client written by hand (the request line of libshout's HTTP protocol and
 * Liquidsoap): once answered 200, it streams ffmpeg's live Ogg/Opus from stdout. Bounded to 60 s.
 */
async function rawSourceClient(port: number, mount: string) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const head = [
    `SOURCE /${mount} HTTP/1.0`,
    `Authorization: ${BASIC}`,
    'Content-Type: audio/ogg',
    'ice-name: raw client',
    '',
    '',
  ].join('\r\n');
  const answered = new Promise<string>((resolve) =>
    socket.once('data', (bytes) => resolve(bytes.toString())),
  );
  socket.write(head);
  expect(await answered).toBe('HTTP/1.0 200 OK\r\n\r\n');
  const encoder = processes.spawn('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-re'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000', '-t', '60'],
    ...['-c:a', 'libopus', '-b:a', '64k', '-page_duration', '20000', '-f', 'ogg', 'pipe:1'],
  ]);
  encoder.child.stdout!.on('data', (bytes: Buffer) => socket.write(bytes));
  return {
    drop() {
      ChildProcesses.kill(encoder.child);
      socket.destroy();
    },
  };
}

function expectClean(result: Awaited<ReturnType<typeof decode>>, seconds: number, what: string) {
  expect(result.errors, `${what}: errors`).toBe('');
  expect(result.status, `${what}: exit`).toBe(0);
  expect(result.seconds, `${what}: seconds decoded`).toBeGreaterThanOrEqual(seconds - 0.1);
}

describe('push into p2psp source --listen-source, as into an Icecast mount', () => {
  it('ffmpeg pushes with PUT; refusals as Icecast; a dropped client comes back while players decode on', {
    timeout: 150_000,
  }, async (context) => {
    if (missing.ffmpeg!.length > 0) context.skip(`missing ${missing.ffmpeg!.join(', ')}`);
    const source = await startPushSource(processes, 'live.mp3');
    let client = ffmpegSourceClient(source.url());
    const clusterPort = await source.started();
    expect(logsNamed(source.running, 'source-client-connect')[0]).toMatchObject({
      method: 'PUT',
      contentType: 'audio/mpeg',
    });
    expect(logsNamed(source.running, 'source-start')[0]?.mediaType).toBe('audio/mpeg');
    const peers = [
      await startP2pspPeer(processes, clusterPort),
      await startP2pspPeer(processes, clusterPort),
    ];
    const first = await Promise.all(peers.map((peer) => decode(processes, peer.url, 5)));
    for (const [index, result] of first.entries()) expectClean(result, 5, `peer ${index}`);

    // Refusals, while ffmpeg keeps the mount.
    const head = (headers: string[]) => ['PUT /live.mp3 HTTP/1.1', ...headers, '', ''].join('\r\n');
    const wrongPassword = `Basic ${Buffer.from('source:wrong').toString('base64')}`;
    expect(
      await rawAnswer(
        source.port,
        head([`Authorization: ${wrongPassword}`, 'Content-Type: audio/mpeg']),
      ),
    ).toMatch(/^HTTP\/1\.0 401 [\s\S]*WWW-Authenticate: Basic/);
    expect(
      await rawAnswer(source.port, head([`Authorization: ${BASIC}`, 'Content-Type: audio/mpeg'])),
    ).toMatch(/^HTTP\/1\.0 403 [\s\S]*Mountpoint in use/);
    expect(client.child.exitCode).toBeNull();
    expect(logsNamed(source.running, 'source-client-refused').map((line) => line.status)).toEqual([
      401, 403,
    ]);

    // The client drops: the players hear silence, then the client's new stream.
    const staying = decode(processes, peers[0]!.url, 16);
    const reader = openPlayer(peers[1]!.url);
    await sleep(3000);
    ChildProcesses.kill(client.child);
    await until(
      () => logsNamed(source.running, 'fallback-start').length > 0,
      20_000,
      'the drop to be noticed',
    );
    expect(logsNamed(source.running, 'fallback-start')[0]).toMatchObject({ fallback: 'silence' });
    const atDrop = reader.receivedBytes;
    // With the mount free, a client that names no Content-Type or another format is refused.
    expect(await rawAnswer(source.port, head([`Authorization: ${BASIC}`]))).toMatch(
      /^HTTP\/1\.0 403 [\s\S]*No Content-type given/,
    );
    expect(
      await rawAnswer(source.port, head([`Authorization: ${BASIC}`, 'Content-Type: audio/ogg'])),
    ).toMatch(/^HTTP\/1\.0 403 [\s\S]*this mount streams audio\/mpeg/);
    await sleep(3000);
    // 128 kbit/s is 16 kB/s: about 48 kB of silence in 3 s.
    expect(reader.receivedBytes - atDrop, 'bytes during the gap').toBeGreaterThan(24_000);
    client = ffmpegSourceClient(source.url());
    await until(
      () => logsNamed(source.running, 'source-client-connect').length === 2,
      20_000,
      'the client to come back',
    );
    expectClean(await staying, 16, 'the player that stayed through the drop');
    expect(reader.state.ended, reader.state.error).toBe(false);
    reader.close();
    expectClean(await decode(processes, peers[1]!.url, 3), 3, 'a player after the drop');
    expect(logsNamed(source.running, 'fallback-stop')).toHaveLength(1);
    for (const running of [source.running, ...peers.map((peer) => peer.running)]) {
      expect(running.child.exitCode).toBeNull();
    }
  });

  it('a raw legacy SOURCE client streams Ogg/Opus; after it drops and another comes, players decode the chain', {
    timeout: 120_000,
  }, async (context) => {
    if (missing.ffmpeg!.length > 0) context.skip(`missing ${missing.ffmpeg!.join(', ')}`);
    const source = await startPushSource(processes, 'live.ogg');
    let client = await rawSourceClient(source.port, 'live.ogg');
    const peer = await startP2pspPeer(processes, await source.started());
    expect(logsNamed(source.running, 'source-client-connect')[0]).toMatchObject({
      method: 'SOURCE',
      contentType: 'audio/ogg',
    });
    expectClean(await decode(processes, peer.url, 4), 4, 'the Ogg peer');
    const reader = openPlayer(peer.url);
    await sleep(2000);
    client.drop();
    await until(() => logsNamed(source.running, 'fallback-start').length > 0, 20_000, 'the drop');
    await sleep(2000);
    client = await rawSourceClient(source.port, 'live.ogg');
    await until(
      () => logsNamed(source.running, 'fallback-stop').length > 0,
      20_000,
      'the new client',
    );
    await sleep(3000);
    client.drop();
    reader.close();
    // What the player got, from before the drop to after the new client: a chain of three
    // Ogg streams (the client's, the silence, the new client's), decoded with no error.
    const folder = mkdtempSync(join(tmpdir(), 'p2psp-push-'));
    folders.push(folder);
    const file = join(folder, 'across-the-drop.ogg');
    writeFileSync(file, reader.bytes());
    const across = await decode(processes, file, 600);
    expect(across.errors, 'the chain').toBe('');
    expect(across.status).toBe(0);
    expect(across.seconds).toBeGreaterThan(6);
  });

  it('Liquidsoap output.icecast pushes MP3, and peers decode it', {
    timeout: 120_000,
  }, async (context) => {
    if (missing.liquidsoap!.length > 0) context.skip(`missing ${missing.liquidsoap!.join(', ')}`);
    const source = await startPushSource(processes, 'radio.mp3');
    const folder = mkdtempSync(join(tmpdir(), 'p2psp-liquidsoap-'));
    folders.push(folder);
    const script = liquidsoapPushScript(folder, {
      port: source.port,
      mount: 'radio.mp3',
      name: 'Liquidsoap test',
      body: 'sine(440.)',
    });
    const liquidsoap = processes.spawn('liquidsoap', [script]);
    const peer = await startP2pspPeer(processes, await source.started());
    expect(logsNamed(source.running, 'source-client-connect')[0]).toMatchObject({
      contentType: 'audio/mpeg',
      stream: { name: 'Liquidsoap test', genre: 'Test' },
    });
    expectClean(await decode(processes, peer.url, 6), 6, 'the peer of the Liquidsoap stream');
    expect(liquidsoap.child.exitCode).toBeNull();
  });
});
