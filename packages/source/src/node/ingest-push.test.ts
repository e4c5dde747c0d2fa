import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { IngestHandlers } from './ingest.js';
import {
  openPushIngest,
  type PushIngest,
  type PushIngestOptions,
  parseListenSource,
} from './ingest-push.js';

// The push ingest on loopback, driven by raw source clients over node:net (the real
// encoders, ffmpeg and Liquidsoap, are in apps/cli/test/icecast-push.test.ts).

const PASSWORD = 'hackme';
const AUTH = `Basic ${Buffer.from(`source:${PASSWORD}`).toString('base64')}`;
const MP3_FRAME = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)]);

const sockets: Socket[] = [];
const ingests: PushIngest[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const ingest of ingests.splice(0)) ingest.stop();
});

interface Client {
  readonly socket: Socket;
  /** Everything the server answered so far. */
  answer(): string;
  /** Resolves once the answer contains `text`, or the connection closed (bounded: 5 s). */
  until(text: string): Promise<string>;
  readonly closed: Promise<void>;
}

function sourceClient(port: number, head: string, body?: Uint8Array): Client {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (bytes) => {
    received += bytes.toString('latin1');
    for (const waiter of waiters.splice(0)) waiter();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(head);
  if (body) socket.write(body);
  return {
    socket,
    answer: () => received,
    closed,
    async until(text) {
      const deadline = Date.now() + 5000;
      while (!received.includes(text) && !socket.destroyed && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), closed]);
      }
      return received;
    },
  };
}

function request(method: string, mount: string, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [`${method} ${mount} HTTP/1.1`, ...lines, '', ''].join('\r\n');
}

const PUT_HEAD = request('PUT', '/live.mp3', {
  Authorization: AUTH,
  'Content-Type': 'audio/mpeg',
  Expect: '100-continue',
  'Ice-Name': 'Radio Libre',
  'Ice-Public': '1',
  'Ice-Audio-Info': 'ice-samplerate=44100;ice-channels=2',
});

/** Opens the ingest on a free port; `port` resolves as soon as it listens. */
function open(options: Partial<PushIngestOptions> = {}) {
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((resolve) => {
    resolvePort = resolve;
  });
  const opened = openPushIngest(parseListenSource('127.0.0.1:0/live.mp3'), {
    password: PASSWORD,
    onListen: (endpoint) => resolvePort(endpoint.port),
    ...options,
  }).then((ingest) => {
    ingests.push(ingest);
    return ingest;
  });
  return { port, opened };
}

/** Handlers that record what the ingest delivered, in order. */
function recorder() {
  const calls: string[] = [];
  let bytes = 0;
  const handlers: IngestHandlers = {
    data: (data) => {
      bytes += data.byteLength;
      if (calls.at(-1) !== 'data') calls.push('data');
    },
    restart: (reason) => calls.push(`restart: ${reason}`),
    lost: (reason) => calls.push(`lost: ${reason}`),
    end: (reason) => calls.push(`end: ${reason}`),
  };
  return { calls, handlers, bytes: () => bytes };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; !check(); attempt += 1) {
    if (attempt >= 250) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('parseListenSource', () => {
  it.each([
    ['8000/live.mp3', { address: '0.0.0.0', port: 8000, mount: '/live.mp3' }],
    ['127.0.0.1:8000/live.ogg', { address: '127.0.0.1', port: 8000, mount: '/live.ogg' }],
    ['[::1]:8000/a/b', { address: '::1', port: 8000, mount: '/a/b' }],
  ])('reads %s', (text, expected) => {
    expect(parseListenSource(text)).toEqual(expected);
  });

  it.each(['8000', '8000/', 'radio.example:8000/live', '70000/live', ':8000/x', '8000/a b'])(
    'refuses %s with P2PSP_ERR_BAD_OPTION, naming the form',
    (text) => {
      expect(() => parseListenSource(text)).toThrow(
        expect.objectContaining({
          code: 'P2PSP_ERR_BAD_OPTION',
          message: expect.stringContaining('[HOST:]PORT/MOUNT'),
        }),
      );
    },
  );
});

describe('openPushIngest (an Icecast 2.4 mount for source clients)', () => {
  it('takes PUT with Expect: 100-continue, keeps the ice-* details, delivers from the first byte', async () => {
    const { port, opened } = open();
    const client = sourceClient(await port, PUT_HEAD);
    expect(await client.until('200 OK')).toBe(
      'HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\n\r\n',
    );
    client.socket.write(MP3_FRAME);
    const ingest = await opened;
    expect(ingest.contentType).toBe('audio/mpeg');
    expect(ingest.fileName).toBe('live.mp3');
    expect(Buffer.from(ingest.head)).toEqual(MP3_FRAME.subarray(0, ingest.head.byteLength));
    expect(ingest.streamInfo()).toMatchObject({
      name: 'Radio Libre',
      public: true,
      audioInfo: { 'ice-samplerate': '44100', 'ice-channels': '2' },
    });
    const record = recorder();
    ingest.pipe(record.handlers, 'audio/mpeg');
    client.socket.write(MP3_FRAME);
    await waitFor(() => record.bytes() === 2 * MP3_FRAME.length, 'both frames');
    expect(record.calls).toEqual(['data']);
  });

  it('takes the legacy SOURCE method, with the stream right after the head', async () => {
    const { port, opened } = open();
    sourceClient(
      await port,
      request('SOURCE', '/live.mp3', { Authorization: AUTH, 'Content-Type': 'audio/mpeg' }),
      MP3_FRAME,
    );
    const ingest = await opened;
    const record = recorder();
    ingest.pipe(record.handlers, 'audio/mpeg');
    await waitFor(() => record.bytes() === MP3_FRAME.length, 'the frame');
  });

  it('decodes a chunked PUT (curl -T -)', async () => {
    const { port, opened } = open();
    const head = request('PUT', '/live.mp3', {
      Authorization: AUTH,
      'Content-Type': 'audio/mpeg',
      'Transfer-Encoding': 'chunked',
    });
    const chunked = Buffer.concat([
      Buffer.from(`${MP3_FRAME.length.toString(16)}\r\n`),
      MP3_FRAME,
      Buffer.from('\r\n'),
    ]);
    sourceClient(await port, head, chunked);
    const ingest = await opened;
    const record = recorder();
    ingest.pipe(record.handlers, 'audio/mpeg');
    await waitFor(() => record.bytes() === MP3_FRAME.length, 'the frame, unchunked');
  });

  it('answers errors as Icecast does; a second client gets 403 while the first keeps streaming', async () => {
    const { port: listening, opened } = open();
    const port = await listening;
    const refused = async (head: string) => {
      const client = sourceClient(port, head);
      await client.closed;
      return client.answer();
    };
    const auth = { Authorization: AUTH, 'Content-Type': 'audio/mpeg' };
    expect(
      await refused(request('PUT', '/live.mp3', { ...auth, Authorization: 'Basic c291cmNlOm5v' })),
    ).toMatch(/^HTTP\/1\.0 401 [\s\S]*WWW-Authenticate: Basic[\s\S]*You need to authenticate\n$/);
    expect(await refused(request('PUT', '/live.mp3', { Authorization: AUTH }))).toMatch(
      /^HTTP\/1\.0 403 [\s\S]*No Content-type given\n$/,
    );
    expect(
      await refused(request('PUT', '/live.mp3', { ...auth, 'Content-Type': 'text/plain' })),
    ).toMatch(/^HTTP\/1\.0 403 [\s\S]*Content-type text\/plain not supported/);
    expect(await refused(request('PUT', '/other.mp3', auth))).toMatch(
      /^HTTP\/1\.0 404 [\s\S]*takes \/live\.mp3/,
    );
    expect(await refused(request('GET', '/live.mp3', {}))).toMatch(/^HTTP\/1\.0 405 /);
    expect(await refused('garbage\r\n\r\n')).toMatch(/^HTTP\/1\.0 400 /);

    const first = sourceClient(port, PUT_HEAD, MP3_FRAME);
    const ingest = await opened;
    const record = recorder();
    ingest.pipe(record.handlers, 'audio/mpeg');
    expect(await refused(PUT_HEAD)).toMatch(/^HTTP\/1\.0 403 [\s\S]*Mountpoint in use\n$/);
    first.socket.write(MP3_FRAME);
    await waitFor(() => record.bytes() === 2 * MP3_FRAME.length, 'the first client streaming on');
    expect(record.calls).toEqual(['data']);
    // Once the cluster carries MP3, a client bringing Ogg is refused by name.
    first.socket.destroy();
    await waitFor(() => record.calls.length === 2, 'the drop');
    expect(
      await refused(request('PUT', '/live.mp3', { ...auth, 'Content-Type': 'audio/ogg' })),
    ).toMatch(/403 [\s\S]*this mount streams audio\/mpeg/);
  });

  it('takes title updates on /admin/metadata as Icecast does, logs them and passes them on with the ice-* details', async () => {
    const titles: unknown[] = [];
    const logger = {
      debug() {},
      warn() {},
      info: (fields: object, message: string) => {
        if (message === 'ingest-title') titles.push((fields as { title: string }).title);
      },
    };
    const { port: listening, opened } = open({ logger });
    const port = await listening;
    const update = async (query: string, authorization = AUTH) => {
      const client = sourceClient(
        port,
        request('GET', `/admin/metadata?${query}`, { Authorization: authorization }),
      );
      await client.closed;
      return client.answer();
    };
    // No source on the mount yet: Icecast's "Source does not exist".
    expect(await update('mount=/live.mp3&mode=updinfo&song=A')).toMatch(
      /^HTTP\/1\.0 400 [\s\S]*Source does not exist/,
    );
    sourceClient(port, PUT_HEAD, MP3_FRAME);
    const metadata: unknown[] = [];
    (await opened).pipe(
      { ...recorder().handlers, metadata: (update) => metadata.push(update) },
      'audio/mpeg',
    );
    expect(await update('mount=/live.mp3&mode=updinfo&song=Artist+-+Song%20%C3%A9')).toMatch(
      /^HTTP\/1\.0 200 OK[\s\S]*<message>Metadata update successful<\/message><return>1<\/return>/,
    );
    expect(await update('mount=/live.mp3&mode=updinfo&artist=Nina&title=Sinnerman')).toMatch(
      /Metadata update successful/,
    );
    expect(await update('mount=/live.mp3&mode=other')).toMatch(/No such action[\s\S]*<return>0/);
    expect(await update('mount=/live.mp3&mode=updinfo&song=X', 'Basic c291cmNlOm5v')).toMatch(
      /^HTTP\/1\.0 401 /,
    );
    expect(titles).toEqual(['Artist - Song é', 'Nina - Sinnerman']);
    expect(metadata).toEqual([
      { info: { name: 'Radio Libre', description: '', genre: '', url: '', bitrate: 0 } },
      { title: 'Artist - Song é' },
      { title: 'Nina - Sinnerman' },
    ]);
  });

  it('bounds request heads: 431 when oversize, 408 when stalled', async () => {
    const { port: listening, opened } = open({ headTimeoutMs: 200, maxHeadBytes: 1024 });
    const port = await listening;
    const huge = sourceClient(port, `PUT /live.mp3 HTTP/1.1\r\nX: ${'a'.repeat(2000)}`);
    await huge.closed;
    expect(huge.answer()).toMatch(/^HTTP\/1\.0 431 /);
    const stalled = sourceClient(port, 'PUT /live.mp3 HTTP/1.1\r\n');
    const started = Date.now();
    await stalled.closed;
    expect(stalled.answer()).toMatch(/^HTTP\/1\.0 408 /);
    expect(Date.now() - started).toBeLessThan(3000);
    sourceClient(port, PUT_HEAD, MP3_FRAME);
    const metadata: unknown[] = [];
    (await opened).pipe(
      { ...recorder().handlers, metadata: (update) => metadata.push(update) },
      'audio/mpeg',
    );
  });

  it('reports a client that leaves (lost), and restarts the stream when one comes back', async () => {
    const { port: listening, opened } = open({ idleTimeoutMs: 300 });
    const port = await listening;
    const first = sourceClient(port, PUT_HEAD, MP3_FRAME);
    const ingest = await opened;
    const record = recorder();
    ingest.pipe(record.handlers, 'audio/mpeg');
    first.socket.destroy();
    await waitFor(() => record.calls.length === 2, 'the drop');
    expect(record.calls[1]).toMatch(/^lost: source client left/);

    // A client that goes silent is dropped after the idle timeout.
    const silent = sourceClient(port, PUT_HEAD, MP3_FRAME);
    await silent.closed;
    expect(record.calls.slice(2)).toEqual([
      'restart: source client reconnected',
      'data',
      expect.stringMatching(/^lost: source client left: no data for 300 ms/),
    ]);

    // The mount is free again: a third client streams.
    const third = sourceClient(port, PUT_HEAD, MP3_FRAME);
    await third.until('200 OK');
    await waitFor(() => record.calls.length === 7, 'the third stream');
    expect(record.calls.slice(5)).toEqual(['restart: source client reconnected', 'data']);
    expect(record.bytes()).toBe(3 * MP3_FRAME.length);
  });

  it('fails with P2PSP_ERR_PORT_IN_USE when the port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      await expect(
        openPushIngest(parseListenSource(`127.0.0.1:${port}/live.mp3`), { password: PASSWORD }),
      ).rejects.toMatchObject({
        code: 'P2PSP_ERR_PORT_IN_USE',
        message: expect.stringContaining(`port ${port} is already in use`),
      });
    } finally {
      holder.close();
    }
  });

  it('refuses an empty password', async () => {
    await expect(
      openPushIngest(parseListenSource('127.0.0.1:0/live.mp3'), { password: '' }),
    ).rejects.toMatchObject({ code: 'P2PSP_ERR_BAD_OPTION' });
  });
});
