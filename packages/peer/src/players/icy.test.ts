import { request } from 'node:http';
import { ICY_METAINT, IcyMetadataStripper } from '@p2psp/media';
import { UNKNOWN_STREAM_INFO } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { PlayerFanOut } from './player-fan-out.js';
import { startPlayerServer } from './player-server.js';
import { serversClosedAfterEach, until } from './players.test-helpers.js';

const servers = serversClosedAfterEach();
const station = {
  ...UNKNOWN_STREAM_INFO,
  name: 'Radio Libre',
  genre: 'talk',
  description: 'Ràdio',
  bitrate: 128,
};

async function servePlayers() {
  const fanOut = new PlayerFanOut();
  const server = await startPlayerServer({ fanOut, port: 0, status: () => ({}) });
  servers.push(server);
  fanOut.setStreamHeader('audio/mpeg', new Uint8Array(0));
  return { fanOut, server };
}

function get(url: string, method: string, headers: Record<string, string> = {}) {
  const received: Buffer[] = [];
  const state = { status: 0, headers: {} as Record<string, string | string[] | undefined> };
  const client = request(url, { method, headers }, (response) => {
    state.status = response.statusCode ?? 0;
    state.headers = response.headers;
    response.on('data', (bytes: Buffer) => received.push(bytes));
  });
  client.on('error', () => {});
  client.end();
  return { state, bytes: () => Buffer.concat(received), close: () => client.destroy() };
}

describe('the player port as an Icecast mount', () => {
  it('interleaves titles for players that ask, at the chunk they start on; others get the plain stream', async () => {
    const { fanOut, server } = await servePlayers();
    fanOut.setStreamMetadata(0, 'First', station);
    const icy = get(server.url, 'GET', { 'Icy-MetaData': '1' });
    const plain = get(server.url, 'GET');
    await until(() => fanOut.playerCount === 2);
    const payload = (chunkNumber: number) => Buffer.alloc(1000, chunkNumber);
    for (let chunkNumber = 0; chunkNumber < 40; chunkNumber++) {
      // The source changed the title as chunk 20 was cut: players see it from there.
      if (chunkNumber === 10) fanOut.setStreamMetadata(20, 'Second', station);
      fanOut.play(chunkNumber, payload(chunkNumber));
    }
    const sent = Buffer.concat(Array.from({ length: 40 }, (_, index) => payload(index)));
    await until(() => plain.bytes().length === sent.length);
    expect(plain.bytes().equals(sent)).toBe(true);
    expect(plain.state.headers['icy-metaint']).toBeUndefined();
    await until(() => icy.bytes().length > sent.length);
    expect(icy.state.headers['icy-metaint']).toBe(String(ICY_METAINT));
    expect(icy.state.headers['icy-name']).toBe('Radio Libre');
    const { media, titles } = new IcyMetadataStripper(ICY_METAINT).push(icy.bytes());
    expect(Buffer.from(media).equals(sent)).toBe(true);
    // Blocks after 16,000 bytes (chunk 15: First) and 32,000 bytes (chunk 31: Second).
    expect(titles).toEqual(['First', 'Second']);
    // The bytes after each 16,000: a block's length byte, byte-exact.
    expect(icy.bytes()[ICY_METAINT]).toBe(2); // "StreamTitle='First';" is 20 bytes: 2 x 16
    icy.close();
    plain.close();
  });

  it('takes a title at its chunk, and at once one announced beyond any buffer (a restarted source)', () => {
    const fanOut = new PlayerFanOut();
    fanOut.setStreamMetadata(100, 'Later', station);
    fanOut.play(99, Buffer.alloc(1));
    expect(fanOut.streamTitle).toBe('');
    fanOut.play(100, Buffer.alloc(1));
    expect(fanOut.streamTitle).toBe('Later');
    // A rejoin to a source that counts from 0 again: the old numbering's title does not wait.
    fanOut.setStreamMetadata(1_000_000, 'Old numbering', station);
    fanOut.setStreamMetadata(3, 'New numbering', station);
    fanOut.play(5, Buffer.alloc(1));
    expect(fanOut.streamTitle).toBe('New numbering');
  });

  it("answers HEAD with the stream's headers only, and a CORS preflight that allows Icy-MetaData", async () => {
    const { fanOut, server } = await servePlayers();
    fanOut.setStreamMetadata(0, 'Song', station);
    const head = get(server.url, 'HEAD', { 'Icy-MetaData': '1' });
    await until(() => head.state.status !== 0);
    expect(head.state.status).toBe(200);
    expect(head.state.headers).toMatchObject({
      'content-type': 'audio/mpeg',
      'icy-name': 'Radio Libre',
      'icy-genre': 'talk',
      'icy-br': '128',
      'icy-metaint': String(ICY_METAINT),
      'access-control-allow-origin': '*',
    });
    // UTF-8 bytes as they are, as Icecast sends them.
    expect(Buffer.from(String(head.state.headers['icy-description']), 'latin1').toString()).toBe(
      'Ràdio',
    );
    expect(head.state.headers['access-control-expose-headers']).toContain('icy-metaint');
    expect(fanOut.playerCount).toBe(0);
    const preflight = get(server.url, 'OPTIONS', {
      Origin: 'http://radio.example',
      'Access-Control-Request-Headers': 'icy-metadata',
    });
    await until(() => preflight.state.status !== 0);
    expect(preflight.state.status).toBe(204);
    expect(preflight.state.headers['access-control-allow-headers']).toBe('Icy-MetaData');
  });

  it("serves /status-json.xsl in Icecast's shape, with the players connected as listeners", async () => {
    const { fanOut, server } = await servePlayers();
    fanOut.setStreamMetadata(0, 'Song', station);
    fanOut.play(0, Buffer.alloc(10));
    const players = [get(server.url, 'GET'), get(server.url, 'GET')];
    await until(() => fanOut.playerCount === 2);
    const response = await fetch(server.url.replace('/stream', '/status-json.xsl'));
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const { icestats } = (await response.json()) as { icestats: Record<string, unknown> };
    expect(icestats).toMatchObject({
      server_id: 'p2psp',
      source: {
        listeners: 2,
        listener_peak: 2,
        listenurl: server.url,
        server_name: 'Radio Libre',
        server_type: 'audio/mpeg',
        genre: 'talk',
        bitrate: 128,
        title: 'Song',
      },
    });
    for (const player of players) player.close();
  });
});
