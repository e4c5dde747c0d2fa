import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type IcecastBridge, type IcecastBridgeOptions, startIcecastBridge } from './bridge.js';
import { openIcecastMount } from './icecast-source-client.js';
import { parseIcecastTarget, parsePlayerUrl } from './urls.js';

// The bridge against fakes on loopback: a peer's player port (node:http) and an Icecast
// server's source side (node:net). The real icecast2 is in apps/cli/test/icecast-push.test.ts.

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0).reverse()) close();
});

/** What a fake Icecast saw from one source client. */
interface SourceSeen {
  head: string;
  body: Buffer;
  socket: Socket;
}

/**
 * A fake Icecast: `answer(method)` says what to reply to a request head (null: close with
 * no answer); an accepted client's body is recorded.
 */
async function fakeIcecast(answer: (method: string) => string | null) {
  const seen: SourceSeen[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let received = Buffer.alloc(0);
    let client: SourceSeen | null = null;
    socket.on('error', () => {});
    socket.on('data', (bytes: Buffer) => {
      if (client) {
        client.body = Buffer.concat([client.body, bytes]);
        return;
      }
      received = Buffer.concat([received, bytes]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      const reply = answer(head.split(' ')[0]!);
      if (reply === null) return socket.destroy();
      socket.write(reply);
      if (!reply.includes(' 100 ') && !reply.includes(' 200 ')) return socket.end();
      client = { head, body: received.subarray(end + 4), socket };
      seen.push(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    port,
    url: (mount = '/relay.mp3') => `icecast://source:pw@127.0.0.1:${port}${mount}`,
  };
}

const ICECAST_OK = (method: string) =>
  method === 'PUT'
    ? 'HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\n\r\n'
    : 'HTTP/1.0 200 OK\r\n\r\n';

/** A fake peer: each player gets `header` then a block every 10 ms (bounded: 500 blocks). */
async function fakePeer(contentType = 'audio/mpeg', headers: Record<string, string> = {}) {
  const players: { count: number } = { count: 0 };
  const server: HttpServer = createHttpServer((_request, response) => {
    players.count += 1;
    response.writeHead(200, { 'Content-Type': contentType, ...headers });
    response.write(Buffer.from('HEADER'));
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      if (sent > 500) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write(Buffer.alloc(1024, sent & 0xff));
    }, 10);
    response.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { players, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream` };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; !check(); attempt += 1) {
    if (attempt >= 250) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A bridge from a fake peer to a fake Icecast, stopped after the test. */
async function startBridge(
  peer: { url: string },
  icecast: { url(): string },
  options: Omit<IcecastBridgeOptions, 'from' | 'to'>,
): Promise<IcecastBridge> {
  const bridge = await startIcecastBridge({ from: peer.url, to: icecast.url(), ...options });
  closers.push(() => void bridge.stop());
  return bridge;
}

describe('parseIcecastTarget and parsePlayerUrl: text only, no lookup', () => {
  it('reads ffmpeg-style icecast:// URLs, defaulting the port and the user', () => {
    expect(parseIcecastTarget('icecast://source:p%40ss@radio.example:8001/live.ogg')).toEqual({
      host: 'radio.example',
      port: 8001,
      mount: '/live.ogg',
      user: 'source',
      password: 'p@ss',
    });
    expect(parseIcecastTarget('http://:secret@[::1]/a.mp3')).toMatchObject({
      host: '::1',
      port: 8000,
      user: 'source',
    });
  });

  it.each([
    ['not a url', /is not a URL/],
    ['radio:8000', /scheme must be icecast:\/\/ or http:\/\//],
    ['icecast://source:pw@:8000/live', /not a URL|names no host/],
    ['icecast://source:pw@radio.example:8000/', /names no mount/],
    ['icecast://radio.example:8000/live', /has no password/],
  ])('refuses --to %s with P2PSP_ERR_BAD_OPTION', (text, message) => {
    expect(() => parseIcecastTarget(text)).toThrow(
      expect.objectContaining({
        code: 'P2PSP_ERR_BAD_OPTION',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('never repeats the password in an error', () => {
    expect(() => parseIcecastTarget('ftp://source:hunter2@host/x')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('refuses a --from that is not an http(s) URL', () => {
    expect(() => parsePlayerUrl('127.0.0.1:8080')).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_BAD_OPTION' }),
    );
    expect(parsePlayerUrl('http://127.0.0.1:8080/stream').port).toBe('8080');
  });
});

describe('openIcecastMount (the source client side of Icecast)', () => {
  it('sends PUT with Basic auth, the Content-Type, ice-* headers and Expect: 100-continue', async () => {
    const icecast = await fakeIcecast(ICECAST_OK);
    const { socket, method } = await openIcecastMount(
      parseIcecastTarget(icecast.url()),
      'audio/mpeg',
      { details: { name: 'Radio\r\nX-Injected: 1', genre: 'Jazz', public: true } },
    );
    socket.destroy();
    expect(method).toBe('PUT');
    const head = icecast.seen[0]!.head;
    expect(head).toMatch(/^PUT \/relay\.mp3 HTTP\/1\.1\r\n/);
    expect(head).toContain(`Authorization: Basic ${Buffer.from('source:pw').toString('base64')}`);
    expect(head).toContain('Content-Type: audio/mpeg');
    expect(head).toContain('Ice-Public: 1');
    expect(head).toContain('Ice-Name: Radio X-Injected: 1');
    expect(head).not.toContain('\r\nX-Injected');
    expect(head).toContain('Ice-Genre: Jazz');
    expect(head).toContain('Expect: 100-continue');
  });

  it.each([
    ['400 "unknown request"', 'HTTP/1.0 400 Bad Request\r\n\r\nunknown request'],
    ['a close with no answer', null],
  ])('falls back to SOURCE when an older Icecast answers PUT with %s', async (_name, refusal) => {
    const icecast = await fakeIcecast((method) =>
      method === 'PUT' ? refusal : ICECAST_OK(method),
    );
    const { socket, method } = await openIcecastMount(
      parseIcecastTarget(icecast.url()),
      'audio/ogg',
    );
    socket.destroy();
    expect(method).toBe('SOURCE');
    expect(icecast.seen[0]!.head).toMatch(/^SOURCE \/relay\.mp3 HTTP\/1\.1\r\n/);
    expect(icecast.seen[0]!.head).not.toContain('Expect');
  });

  it.each([
    [
      '401',
      'HTTP/1.0 401 Authorization Required\r\n\r\nYou need to authenticate\r\n',
      'P2PSP_ERR_ICECAST_AUTH',
      /password/,
    ],
    [
      '403 Mountpoint in use',
      'HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nMountpoint in use',
      'P2PSP_ERR_ICECAST_MOUNT_IN_USE',
      /in use by another source client/,
    ],
    [
      '403 Content-type not supported',
      'HTTP/1.0 403 Forbidden\r\n\r\nContent-type not supported',
      'P2PSP_ERR_ICECAST_REFUSED',
      /HTTP 403 "Content-type not supported"/,
    ],
  ])('names the refusal %s', async (_name, reply, code, message) => {
    const icecast = await fakeIcecast(() => reply);
    await expect(
      openIcecastMount(parseIcecastTarget(icecast.url()), 'audio/mpeg'),
    ).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
  });

  it('says P2PSP_ERR_ICECAST_UNREACHABLE when nothing listens', async () => {
    const icecast = await fakeIcecast(ICECAST_OK);
    closers.pop()!();
    await expect(
      openIcecastMount(parseIcecastTarget(icecast.url()), 'audio/mpeg'),
    ).rejects.toMatchObject({
      code: 'P2PSP_ERR_ICECAST_UNREACHABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('startIcecastBridge', () => {
  it('pushes the player stream to the mount, and reopens both sides when Icecast drops it', async () => {
    const peer = await fakePeer();
    const icecast = await fakeIcecast(ICECAST_OK);
    const warnings: string[] = [];
    const bridge = await startBridge(peer, icecast, {
      reconnectInitialMs: 20,
      reconnectMaxMs: 100,
      logger: { info() {}, warn: (_fields, message) => warnings.push(message) },
    });
    await waitFor(() => (icecast.seen[0]?.body.length ?? 0) > 8 * 1024, 'bytes at Icecast');
    expect(icecast.seen[0]!.body.subarray(0, 6).toString()).toBe('HEADER');
    expect(bridge.status()).toMatchObject({
      state: 'streaming',
      method: 'PUT',
      contentType: 'audio/mpeg',
      sessions: 1,
    });

    icecast.seen[0]!.socket.destroy();
    await waitFor(
      () => (icecast.seen[1]?.body.length ?? 0) > 4 * 1024,
      'bytes after the reconnect',
    );
    // A fresh player connection: Icecast gets the stream from its header again.
    expect(icecast.seen[1]!.body.subarray(0, 6).toString()).toBe('HEADER');
    expect(peer.players.count).toBe(2);
    expect(warnings).toEqual(expect.arrayContaining(['bridge-interrupt', 'bridge-reconnect']));
    await bridge.stop();
    expect(bridge.status().state).toBe('stopped');
  });

  it("announces the peer's station (icy-*) to Icecast, the options winning", async () => {
    // Header bytes are UTF-8, which Node writes and reads one byte per character.
    const latin1 = (text: string) => Buffer.from(text).toString('latin1');
    const peer = await fakePeer('audio/mpeg', {
      'icy-name': latin1('Ràdio Lliure'),
      'icy-genre': 'Talk',
    });
    const icecast = await fakeIcecast(ICECAST_OK);
    await startBridge(peer, icecast, { details: { genre: 'Jazz' } });
    await waitFor(() => icecast.seen.length > 0, 'the source request');
    const head = icecast.seen[0]!.head;
    expect(head).toContain(latin1('Ice-Name: Ràdio Lliure'));
    expect(head).toContain('Ice-Genre: Jazz');
    expect(head).not.toContain('Talk');
  });

  it('keeps retrying, with backoff, while Icecast refuses after the first connection', async () => {
    const peer = await fakePeer();
    let refuse = false;
    const icecast = await fakeIcecast((method) =>
      refuse ? 'HTTP/1.0 403 Forbidden\r\n\r\nMountpoint in use' : ICECAST_OK(method),
    );
    const delays: number[] = [];
    const bridge = await startBridge(peer, icecast, {
      reconnectInitialMs: 10,
      reconnectMaxMs: 40,
      random: () => 0.5,
      logger: {
        info() {},
        warn: (fields, message) => {
          if (message === 'bridge-reconnect') delays.push((fields as { delayMs: number }).delayMs);
        },
      },
    });
    refuse = true;
    icecast.seen[0]!.socket.destroy();
    await waitFor(() => delays.length >= 4, 'four attempts');
    expect(delays.slice(0, 4)).toEqual([8, 15, 30, 30]);
    expect(bridge.status()).toMatchObject({
      state: 'reconnecting',
      lastError: expect.stringContaining('Mountpoint in use'),
    });
    refuse = false;
    await waitFor(() => bridge.status().state === 'streaming', 'streaming again');
  });

  it.each([
    ['a 404 from the peer', 'P2PSP_ERR_BRIDGE_INPUT_STATUS'],
    ['an HTML page', 'P2PSP_ERR_BRIDGE_INPUT_NOT_MEDIA'],
  ])('fails at start on %s', async (name, code) => {
    const server = createHttpServer((_request, response) => {
      if (name.includes('404')) response.writeHead(404).end();
      else response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const icecast = await fakeIcecast(ICECAST_OK);
    await expect(
      startIcecastBridge({
        from: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        to: icecast.url(),
      }),
    ).rejects.toMatchObject({ code });
    expect(icecast.seen).toHaveLength(0);
  });

  it('fails at start with the Icecast refusal', async () => {
    const peer = await fakePeer();
    const icecast = await fakeIcecast(() => 'HTTP/1.0 401 Authorization Required\r\n\r\n');
    await expect(startIcecastBridge({ from: peer.url, to: icecast.url() })).rejects.toMatchObject({
      code: 'P2PSP_ERR_ICECAST_AUTH',
    });
  });
});
