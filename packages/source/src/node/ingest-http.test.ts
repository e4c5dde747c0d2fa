import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openHttpIngest } from './ingest-http.js';

// Regression tests of the shared `firstBytes` wait (ingest.ts), driven through HTTP on
// loopback: an Icecast mount with no live source answers 200 and then sends nothing.
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
