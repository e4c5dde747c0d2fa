import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlayerFanOut, type PlayerLogger } from './player-fan-out.js';
import { type PlayerServer, type PlayerServerOptions, startPlayerServer } from './player-server.js';
import { TcpSendQueues } from './tcp-send-queues.js';

// The player port under abuse, on loopback: caps answered 503, connections without a
// request head closed, players that do not keep up dropped, each counted by reason. Every
// socket is closed in afterEach; each wait is bounded.

const servers: PlayerServer[] = [];
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function until(condition: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Log lines by message, as the peer's pino logger would write them. */
function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: PlayerLogger = {
    debug: (fields, message) => lines.push({ level: 'debug', message, fields: { ...fields } }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields: { ...fields } }),
  };
  return { logger, lines };
}

async function serve(
  fanOut: PlayerFanOut,
  options: Partial<PlayerServerOptions> = {},
): Promise<PlayerServer> {
  const server = await startPlayerServer({ fanOut, port: 0, status: () => ({}), ...options });
  servers.push(server);
  return server;
}

/**
 * A raw HTTP client from a chosen loopback address (all of 127/8 is this machine), so
 * tests can play several client addresses. `read: false` never reads a byte.
 */
function connect(port: number, from: string, request: string | null, read = true) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  sockets.push(socket);
  const state = { head: '', bytes: 0, closed: false, closedAt: 0, lastDataAt: 0 };
  if (request !== null) socket.write(request);
  if (read) {
    socket.on('data', (bytes: Buffer) => {
      if (state.bytes === 0) state.head = bytes.toString('latin1').split('\r\n\r\n')[0] ?? '';
      state.bytes += bytes.byteLength;
      state.lastDataAt = performance.now();
    });
  } else {
    socket.pause();
  }
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
    state.closedAt = performance.now();
  });
  return { socket, state };
}

const GET = 'GET /stream HTTP/1.1\r\nHost: peer\r\n\r\n';

/** Plays `bytesPerTick` every `tickMs`, like a peer's play-out; stopped in afterEach. */
function playSteadily(fanOut: PlayerFanOut, bytesPerTick: number, tickMs: number): void {
  const payload = Buffer.alloc(bytesPerTick, 0x55);
  let chunkNumber = 0;
  timers.push(setInterval(() => fanOut.play(chunkNumber++, payload), tickMs));
}

describe('player server caps', () => {
  it('answers 503 with Retry-After beyond the per-address cap and the overall cap', async () => {
    const { logger, lines } = recordingLogger();
    const fanOut = new PlayerFanOut({ logger });
    fanOut.setStreamHeader('application/octet-stream', new Uint8Array(0));
    const server = await serve(fanOut, { maxPlayers: 3, maxPlayersPerAddress: 2 });
    const first = connect(server.port, '127.0.0.2', GET);
    const second = connect(server.port, '127.0.0.2', GET);
    await until(() => fanOut.playerCount === 2, 5_000, 'two players');
    const thirdFromSameAddress = connect(server.port, '127.0.0.2', GET);
    await until(() => thirdFromSameAddress.state.closed, 5_000, 'the 503');
    expect(thirdFromSameAddress.state.head).toMatch(/^HTTP\/1\.1 503 /);
    expect(thirdFromSameAddress.state.head).toMatch(/\r\nRetry-After: 10\r\n/i);
    const fromElsewhere = connect(server.port, '127.0.0.3', GET);
    await until(() => fanOut.playerCount === 3, 5_000, 'a third player from another address');
    const overCap = connect(server.port, '127.0.0.4', GET);
    await until(() => overCap.state.closed, 5_000, 'the 503');
    expect(overCap.state.head).toMatch(/^HTTP\/1\.1 503 [\s\S]*\r\nRetry-After: 10\r\n/i);
    expect(fanOut.counters.dropped).toMatchObject({ 'address-full': 1, 'server-full': 1 });
    // The players in keep streaming.
    playSteadily(fanOut, 100, 10);
    const before = [first, second, fromElsewhere].map((client) => client.state.bytes);
    await until(
      () =>
        [first, second, fromElsewhere].every(
          (client, index) => client.state.bytes > before[index]!,
        ),
      5_000,
      'the players still receiving',
    );
    expect(lines.filter((line) => line.message === 'player-drop')).toHaveLength(2);
  });

  it('cuts connections from one address past its players and some room, at once', async () => {
    const fanOut = new PlayerFanOut();
    const server = await serve(fanOut, { maxPlayersPerAddress: 2, headTimeoutMs: 60_000 });
    // 2 players + 8 more connections are held; the 11th and later are cut at accept.
    const flood = Array.from({ length: 20 }, () => connect(server.port, '127.0.0.5', null));
    await until(() => flood.filter((client) => client.state.closed).length === 10, 5_000, 'cuts');
    expect(fanOut.counters.dropped['address-full']).toBe(10);
    // Another address is not affected.
    const other = connect(server.port, '127.0.0.6', GET);
    await until(() => fanOut.playerCount === 1, 5_000, 'a player from another address');
    expect(other.state.closed).toBe(false);
  });
});

describe('player server: connections without a request head', () => {
  it('closes idle and slowloris connections within the head timeout, and keeps players', async () => {
    const { logger, lines } = recordingLogger();
    const fanOut = new PlayerFanOut({ logger });
    fanOut.setStreamHeader('application/octet-stream', new Uint8Array(0));
    const headTimeoutMs = 400;
    const server = await serve(fanOut, { headTimeoutMs, maxPlayersPerAddress: 50 });
    const player = connect(server.port, '127.0.0.7', GET);
    await until(() => fanOut.playerCount === 1, 5_000, 'the player');
    playSteadily(fanOut, 100, 20);
    const openedAt = performance.now();
    const idle = Array.from({ length: 5 }, () => connect(server.port, '127.0.0.8', null));
    // Slowloris: a request line, then one header line every 100 ms, never the blank line.
    const slow = Array.from({ length: 5 }, () =>
      connect(server.port, '127.0.0.9', 'GET /stream HTTP/1.1\r\n'),
    );
    timers.push(
      setInterval(() => {
        for (const client of slow) if (!client.state.closed) client.socket.write('X-A: b\r\n');
      }, 100),
    );
    const attackers = [...idle, ...slow];
    await until(() => attackers.every((client) => client.state.closed), 5_000, 'all closed');
    const slowest = Math.max(...attackers.map((client) => client.state.closedAt - openedAt));
    // Node checks the deadline every min(500, timeout) ms: closed by twice the timeout.
    expect(slowest).toBeLessThan(2 * headTimeoutMs + 300);
    expect(fanOut.counters.dropped['head-timeout']).toBe(10);
    expect(lines.filter((line) => line.message === 'player-drop')).toHaveLength(1);
    // The player's own request is long complete: the head timeout never touches it.
    const bytes = player.state.bytes;
    await new Promise((resolve) => setTimeout(resolve, 3 * headTimeoutMs));
    expect(player.state.closed).toBe(false);
    expect(player.state.bytes).toBeGreaterThan(bytes);
  });

  it('answers 431 to a request head over 8 KiB and 400 to garbage', async () => {
    const fanOut = new PlayerFanOut();
    const server = await serve(fanOut);
    const big = connect(
      server.port,
      '127.0.0.10',
      `GET /stream HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`,
    );
    const garbage = connect(server.port, '127.0.0.10', 'NOT HTTP AT ALL\r\n\r\n');
    await until(() => big.state.closed && garbage.state.closed, 5_000, 'both answered');
    expect(big.state.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(garbage.state.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(fanOut.counters.dropped['bad-request']).toBe(2);
  });
});

describe('players that do not keep up', () => {
  it('drops a player that never reads once its kernel send queue passes the bound', async () => {
    const { logger, lines } = recordingLogger();
    const maxQueuedBytes = 256 * 1024;
    const fanOut = new PlayerFanOut({ logger, maxQueuedBytes, stallTimeoutMs: 60_000 });
    fanOut.setStreamHeader('application/octet-stream', new Uint8Array(0));
    const server = await serve(fanOut);
    const reader = connect(server.port, '127.0.0.11', GET);
    const sleeper = connect(server.port, '127.0.0.12', GET, false);
    await until(() => fanOut.playerCount === 2, 5_000, 'two players');
    // 200 KB/s: the sleeper's socket takes it into kernel buffers long before Node queues.
    playSteadily(fanOut, 4096, 20);
    await until(() => fanOut.counters.dropped.slow === 1, 15_000, 'the sleeper dropped');
    const drop = lines.find((line) => line.message === 'player-drop')!;
    expect(drop.fields).toMatchObject({
      reason: 'slow',
      remote: expect.stringMatching(/^127\.0\.0\.12:/),
    });
    // The kernel's part is what crossed the bound (Node's queue alone would not have).
    expect(drop.fields.kernelQueued as number).toBeGreaterThan(0);
    expect(drop.fields.unsent as number).toBeGreaterThan(maxQueuedBytes);
    expect(reader.state.closed).toBe(false);
    expect(fanOut.playerCount).toBe(1);
    // Reset, so the kernel lets go of the unsent bytes at once.
    const queues = TcpSendQueues.forFamily('IPv4');
    await queues.refresh(server.port);
    const serverSide = { remoteAddress: '127.0.0.12', remotePort: sleeper.socket.localPort };
    expect(queues.queued(serverSide as net.Socket)).toBe(0);
  });

  it('drops a player that falls behind the live edge, not one that keeps up through a pause', async () => {
    const fanOut = new PlayerFanOut({ maxQueuedBytes: 64 * 1024 * 1024, stallTimeoutMs: 1_500 });
    fanOut.setStreamHeader('application/octet-stream', new Uint8Array(0));
    const server = await serve(fanOut);
    const reader = connect(server.port, '127.0.0.13', GET);
    // Reads 4 KiB a second of a 200 KB/s stream.
    const laggard = connect(server.port, '127.0.0.14', GET, false);
    timers.push(setInterval(() => laggard.socket.read(4096), 1_000));
    await until(() => fanOut.playerCount === 2, 5_000, 'two players');
    playSteadily(fanOut, 4096, 20);
    await until(() => fanOut.counters.dropped.stalled === 1, 20_000, 'the laggard dropped');
    expect(reader.state.closed).toBe(false);
    // The stream pauses (a source gone quiet) for longer than the bound: the reader has
    // taken everything, so it is not behind and stays.
    for (const timer of timers.splice(0)) clearInterval(timer);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reader.state.closed).toBe(false);
    expect(fanOut.playerCount).toBe(1);
  });
});
