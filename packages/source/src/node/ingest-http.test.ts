import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openHttpIngest } from './ingest-http.js';

// The HTTP ingest against servers on loopback: the shared `firstBytes` wait (ingest.ts; an
// Icecast mount with no live source answers 200 and then sends nothing), and the reconnects
// after each fault, each logged with its code.
const servers: Server[] = [];
const responses: ServerResponse[] = [];
afterEach(() => {
  for (const response of responses.splice(0)) response.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(answer: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((_request, response) => {
    responses.push(response);
    response.writeHead(200, { 'Content-Type': 'audio/mpeg' });
    answer(response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream.mp3`;
}

describe('openHttpIngest, first bytes', () => {
  it('fails with P2PSP_ERR_INGEST_EMPTY when the response ends before any byte', async () => {
    const url = await serve((response) => response.end());
    await expect(openHttpIngest(url, { connectTimeoutMs: 5_000 })).rejects.toMatchObject({
      name: 'SourceRuntimeError',
      code: 'P2PSP_ERR_INGEST_EMPTY',
      message: expect.stringContaining('ended before sending any stream bytes'),
    });
  });

  it('fails with P2PSP_ERR_INGEST_EMPTY when no byte comes within the timeout', async () => {
    const url = await serve((response) => response.flushHeaders());
    // The socket's idle timeout (the same 50 ms) may abort the response first: then the
    // wait sees it end. Either way the code is the same; stdin tests pin the timeout path.
    await expect(openHttpIngest(url, { connectTimeoutMs: 50 })).rejects.toMatchObject({
      code: 'P2PSP_ERR_INGEST_EMPTY',
      message: expect.stringMatching(
        /sent no stream bytes within 50 ms|ended before sending any stream bytes/,
      ),
    });
  });

  it('gives the first bytes as head', async () => {
    const url = await serve((response) => response.write(Buffer.from([0xff, 0xfb, 0x90, 0x00])));
    const ingest = await openHttpIngest(url, { connectTimeoutMs: 5_000 });
    try {
      expect([...ingest.head]).toEqual([0xff, 0xfb, 0x90, 0x00]);
      expect(ingest.contentType).toBe('audio/mpeg');
    } finally {
      ingest.stop();
    }
  });
});

/** Log lines by message, with their fields. */
function recordingLogger() {
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const record = (fields: object, message: string) => {
    lines.push({ message, fields: fields as Record<string, unknown> });
  };
  return {
    lines,
    named: (message: string) => lines.filter((line) => line.message === message),
    logger: { info: record, warn: record, debug: record },
  };
}

/** What the ingest handed on, in order: data runs, restarts, losses. */
function recordCalls() {
  const calls: string[] = [];
  return {
    calls,
    handlers: {
      data: () => {
        if (calls.at(-1) !== 'data') calls.push('data');
      },
      restart: () => calls.push('restart'),
      lost: () => calls.push('lost'),
      end: () => calls.push('end'),
    },
  };
}

const waitFor = async (check: () => boolean, what: string): Promise<void> => {
  for (let attempt = 0; !check(); attempt += 1) {
    if (attempt >= 250) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** MPEG-1 layer III frame headers (128 kbit/s, 44.1 kHz): bytes that sniff as MP3. */
const MP3_BYTES = Buffer.alloc(4096, Buffer.from([0xff, 0xfb, 0x90, 0x00]));

describe('openHttpIngest, reconnects', () => {
  it('names each fault with its code, checks the content type of every answer, and backs off jittered up to a cap', async () => {
    // One answer per connection: a stream that ends, 500, a web page, another format, then media.
    const answers: ((response: ServerResponse) => void)[] = [
      (response) => {
        response.writeHead(200, { 'Content-Type': 'audio/mpeg' });
        response.end(MP3_BYTES);
      },
      (response) => {
        response.writeHead(500, 'Internal Server Error');
        response.end();
      },
      (response) => {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end('<html>maintenance</html>');
      },
      (response) => {
        response.writeHead(200, { 'Content-Type': 'audio/ogg' });
        response.end(Buffer.from('OggS'));
      },
      (response) => {
        response.writeHead(200, { 'Content-Type': 'audio/mpeg' });
        response.write(MP3_BYTES);
      },
    ];
    const server = createServer((_request, response) => {
      responses.push(response);
      (answers.shift() ?? ((late) => late.destroy()))(response);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/radio.mp3`;
    const { named, logger } = recordingLogger();
    const ingest = await openHttpIngest(url, {
      logger,
      reconnectInitialMs: 20,
      reconnectMaxMs: 60,
      random: () => 0.5,
    });
    const core = recordCalls();
    try {
      ingest.pipe(core.handlers, 'audio/mpeg');
      await waitFor(() => named('ingest-reconnect-done').length > 0, 'the fifth answer');
      await waitFor(() => core.calls.length >= 4, 'its bytes');
    } finally {
      ingest.stop();
    }
    const attempts = named('ingest-reconnect').map((line) => line.fields);
    expect(attempts.map((fields) => fields.code)).toEqual([
      'P2PSP_ERR_INGEST_CLOSED',
      'P2PSP_ERR_INGEST_HTTP_STATUS',
      'P2PSP_ERR_INGEST_NOT_MEDIA',
      'P2PSP_ERR_INGEST_NOT_MEDIA',
    ]);
    expect(attempts.map((fields) => fields.reason)).toEqual([
      expect.stringContaining('the server closed the stream'),
      expect.stringContaining('answered HTTP 500 Internal Server Error'),
      expect.stringContaining('serves text/html, not an audio/video stream'),
      expect.stringContaining('now serves audio/ogg, but this stream is audio/mpeg'),
    ]);
    // 20 ms doubling to the 60 ms cap, each 3/4 of its step (random 0.5: equal jitter).
    expect(attempts.map((fields) => fields.delayMs)).toEqual([15, 30, 45, 45]);
    // Refused answers are no stream: the input stays lost until bytes of the good one come.
    expect(core.calls).toEqual(['data', 'lost', 'restart', 'data']);
  });

  it('names a connection idle too long (stalled) and a refused reconnect', async () => {
    const url = await serve((response) => response.write(MP3_BYTES));
    const { named, logger } = recordingLogger();
    const ingest = await openHttpIngest(url, {
      logger,
      idleTimeoutMs: 200,
      reconnectInitialMs: 20,
    });
    try {
      ingest.pipe(recordCalls().handlers, 'audio/mpeg');
      await waitFor(() => named('ingest-reconnect').length > 0, 'the idle limit');
      expect(named('ingest-reconnect')[0]?.fields).toMatchObject({
        code: 'P2PSP_ERR_INGEST_STALLED',
        reason: expect.stringContaining('sent no bytes for 200 ms'),
      });
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
      await waitFor(
        () =>
          named('ingest-reconnect').some((line) => line.fields.code === 'P2PSP_ERR_INGEST_REFUSED'),
        'a refused reconnect',
      );
    } finally {
      ingest.stop();
    }
    await expect(openHttpIngest(url)).rejects.toMatchObject({
      code: 'P2PSP_ERR_INGEST_REFUSED',
      message: expect.stringContaining('refused the connection (ECONNREFUSED)'),
    });
  });
});
