import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PlayerFanOut, type SyncPointFinder } from './player-fan-out.js';
import { startPlayerServer } from './player-server.js';
import { openPlayer, serversClosedAfterEach, until } from './players.test-helpers.js';

const servers = serversClosedAfterEach();

/** Sync points are the byte 0xff (a stand-in for an MP3 frame header in these tests). */
const findFf = (): SyncPointFinder => {
  let seen = 0;
  return {
    push: (bytes) => {
      const found = bytes.indexOf(0xff);
      seen += bytes.byteLength;
      return found < 0 ? -1 : seen - bytes.byteLength + found;
    },
  };
};

async function serve(fanOut: PlayerFanOut) {
  const server = await startPlayerServer({
    fanOut,
    port: 0,
    status: () => ({ players: fanOut.playerCount }),
  });
  servers.push(server);
  return server;
}

describe('PlayerFanOut over HTTP', () => {
  it('sends the header, then every chunk in order, with the stream content type', async () => {
    const fanOut = new PlayerFanOut();
    const server = await serve(fanOut);
    const player = openPlayer(server.url);
    await until(() => fanOut.playerCount === 1);
    fanOut.setStreamHeader('audio/ogg', Buffer.from('HEADER'));
    await until(() => player.bytes().length === 6);
    fanOut.play(0, Buffer.from('one,'));
    fanOut.play(1, Buffer.from('two,'));
    fanOut.play(3, Buffer.from('four'));
    fanOut.end();
    await until(() => player.state.ended);
    expect(player.state.status).toBe(200);
    expect(player.state.contentType).toBe('audio/ogg');
    expect(player.state.headers['cache-control']).toMatch(/no-cache/);
    expect(player.state.headers['content-length']).toBeUndefined();
    expect(player.bytes().toString()).toBe('HEADERone,two,four');
  });

  it('starts a late player at the next sync point, after the header', async () => {
    const fanOut = new PlayerFanOut({ createSyncPointFinder: findFf });
    const server = await serve(fanOut);
    fanOut.setStreamHeader('audio/mpeg', Buffer.from('H'));
    fanOut.play(0, Buffer.from([1, 2, 0xff, 3]));
    const late = openPlayer(server.url);
    await until(() => late.bytes().length === 1);
    fanOut.play(1, Buffer.from([4, 5, 6]));
    fanOut.play(2, Buffer.from([7, 0xff, 8]));
    fanOut.play(3, Buffer.from([9]));
    await until(() => late.bytes().length === 4);
    expect([...late.bytes()]).toEqual([0x48, 0xff, 8, 9]);
    expect(fanOut.listPlayers()[0]?.firstChunkNumber).toBe(2);
    late.close();
  });

  it('drops a player that does not read, and the others get everything', async () => {
    const fanOut = new PlayerFanOut({ maxQueuedBytes: 256 * 1024 });
    const server = await serve(fanOut);
    fanOut.setStreamHeader('application/octet-stream', new Uint8Array(0));
    const good = openPlayer(server.url);
    // A player that sends its request and then never reads a byte.
    const stalled = net.connect(server.port, '127.0.0.1');
    stalled.write(`GET /stream HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    await until(() => fanOut.playerCount === 2);
    const sent = createHash('sha256');
    const block = Buffer.alloc(64 * 1024, 7);
    let chunkNumber = 0;
    // Bounded: at most 256 MiB, stopping as soon as the stalled player is dropped.
    while (fanOut.counters.dropped.slow === 0 && chunkNumber < 4096) {
      block.writeUInt32BE(chunkNumber, 0);
      fanOut.play(chunkNumber, block);
      sent.update(block);
      chunkNumber += 1;
      // Let the good player read (and the kernel buffers of the stalled one fill up).
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(fanOut.counters.dropped.slow).toBe(1);
    expect(fanOut.playerCount).toBe(1);
    fanOut.end();
    await until(() => good.state.ended, 20_000);
    expect(createHash('sha256').update(good.bytes()).digest('hex')).toBe(sent.digest('hex'));
    stalled.destroy();
  });

  it('forgets a player that hangs up', async () => {
    const fanOut = new PlayerFanOut();
    const server = await serve(fanOut);
    fanOut.setStreamHeader('audio/mpeg', new Uint8Array(0));
    const player = openPlayer(server.url);
    await until(() => fanOut.playerCount === 1);
    player.close();
    await until(() => fanOut.playerCount === 0);
    expect(fanOut.counters.playersGone).toBe(1);
  });

  it('serves /status as JSON and 404s other paths', async () => {
    const fanOut = new PlayerFanOut();
    const server = await serve(fanOut);
    const status = await fetch(`http://127.0.0.1:${server.port}/status`);
    expect(await status.json()).toEqual({ players: 0 });
    const missing = await fetch(`http://127.0.0.1:${server.port}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/\/stream/);
  });
});

describe('PlayerFanOut taps (in-process readers)', () => {
  it('get the header, then data from a sync point, again after a gap and a new header, then the end', () => {
    const fanOut = new PlayerFanOut({ createSyncPointFinder: findFf });
    const calls: string[] = [];
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const remove = fanOut.addTap({
      header: (type, header) => calls.push(`header ${type} ${hex(header)}`),
      data: (bytes) => calls.push(`data ${hex(bytes)}`),
      end: () => calls.push('end'),
    });
    fanOut.play(0, Buffer.from([0xff, 1]));
    fanOut.setStreamHeader('audio/mpeg', Buffer.from([0x48]));
    fanOut.play(1, Buffer.from([2, 0xff, 3]));
    fanOut.play(2, Buffer.from([4]));
    fanOut.skip();
    fanOut.play(4, Buffer.from([5, 0xff]));
    fanOut.setStreamHeader('audio/mpeg', Buffer.from([0x49]));
    fanOut.play(5, Buffer.from([0xff, 6]));
    fanOut.end();
    expect(calls).toEqual([
      'header audio/mpeg 48',
      'data ff03',
      'data 04',
      'data ff',
      'header audio/mpeg 49',
      'data ff06',
      'end',
    ]);
    remove();
    const late = fanOut.addTap({ header() {}, data() {}, end: () => calls.push('late end') });
    late();
    expect(calls.at(-1)).toBe('late end');
  });
});
