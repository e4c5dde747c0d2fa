import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { PeerHandle } from '@p2psp/peer/node';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { encodeDatagram } from '@p2psp/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loopbackSourceOptions,
  openPlayer,
  sleep,
  startLoopbackPeers,
  startRandomFeed,
  until,
} from './helpers.js';

const sum = (counts: Readonly<Record<string, number>>) =>
  Object.values(counts).reduce((total, count) => total + count, 0);

/** Rule 3 of the brief: bad network input is dropped and counted; the node keeps streaming. */
describe('bad input on real sockets', () => {
  const peers: PeerHandle[] = [];
  let source: SourceHandle;
  let feed: ReturnType<typeof startRandomFeed>;
  const attacker = dgram.createSocket('udp4');
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    feed = startRandomFeed({ bytesPerSecond: 20_000, maxSeconds: 60 });
    source = await startSource({
      ...loopbackSourceOptions(feed),
      seed: 7,
      // A join that says nothing is given up quickly here (the default is 5 s).
      core: { joinTimeoutMillis: 500 },
    });
    await startLoopbackPeers(source, 3, 20, peers);
    await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', resolve));
    await until(() => source.status().members === 3, 10_000, 'members');
  });

  afterAll(async () => {
    feed.end();
    attacker.close();
    for (const socket of sockets) socket.destroy();
    await Promise.all(peers.map((peer) => peer.stop()));
    await source.stop();
  });

  const targets = () => [
    { name: 'source', port: source.endpoint.port },
    ...peers.map((peer, index) => ({ name: `peer ${index}`, port: peer.udp.port })),
  ];

  it('drops random, truncated and foreign datagrams, counts them, and keeps streaming', async () => {
    const player = openPlayer(peers[0]!.playerUrl);
    await until(() => player.receivedBytes > 0, 10_000, 'first bytes');
    const droppedBefore = [source.status(), ...peers.map((peer) => peer.status())].map((status) =>
      sum(status.datagramsDropped),
    );
    const chunk = encodeDatagram({
      type: 'chunk',
      chunkNumber: 5,
      origin: 999,
      flags: { nonExclusive: false, recovered: false },
      payload: randomBytes(1024),
      signature: new Uint8Array(0),
    });
    // Well-formed, but from a non-member (it claims to be member 1).
    const foreign = encodeDatagram({ type: 'hello-ack', memberId: 1, nonce: 7 });
    // Bounded: 200 datagrams of each kind to each node.
    for (let round = 0; round < 200; round += 1) {
      for (const target of targets()) {
        const garbage = randomBytes(1 + (round % 1400));
        attacker.send(garbage, target.port, '127.0.0.1');
        attacker.send(chunk.subarray(0, round % chunk.byteLength), target.port, '127.0.0.1');
        attacker.send(foreign, target.port, '127.0.0.1');
      }
      // Paced a little: the point is the node's handling, not the kernel's queue.
      if (round % 10 === 0) await sleep(5);
    }
    const bytesAtAttack = player.receivedBytes;
    await until(
      () =>
        [source.status(), ...peers.map((peer) => peer.status())].every(
          (status, index) => sum(status.datagramsDropped) >= droppedBefore[index]! + 300,
        ),
      10_000,
      'drops to be counted',
    );
    for (const [index, status] of [
      source.status(),
      ...peers.map((peer) => peer.status()),
    ].entries()) {
      expect(status.datagramsDropped.malformed, `node ${index} malformed`).toBeGreaterThan(0);
      expect(status.datagramsDropped['non-member'], `node ${index} non-member`).toBeGreaterThan(0);
    }
    // Still streaming: all members still in, the player still receives, nothing lost.
    await until(() => player.receivedBytes > bytesAtAttack + 20_000, 10_000, 'more stream');
    expect(source.status().members).toBe(3);
    for (const peer of peers) expect(peer.status().chunksLost).toBe(0);
    player.close();
  });

  it('closes a TCP join that stalls after the join timeout and counts it', async () => {
    const before = source.status().joinsTimedOut;
    const socket = net.connect(source.endpoint.port, '127.0.0.1');
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    // Connect and send nothing at all.
    await closed;
    expect(source.status().joinsTimedOut).toBe(before + 1);
    expect(source.status().members).toBe(3);
  });

  it('closes a connection announcing an oversized frame and counts it', async () => {
    const before = source.status().connectionsRejected;
    const socket = net.connect(source.endpoint.port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // A u32 length prefix of 16 MiB, then a little of the promised body.
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(16 * 1024 * 1024);
    socket.write(Buffer.concat([prefix, randomBytes(2048)]));
    await closed;
    expect(source.status().connectionsRejected).toBe(before + 1);
    // And the cluster still streams.
    const player = openPlayer(peers[1]!.playerUrl);
    await until(() => player.receivedBytes > 10_000, 10_000, 'stream after the bad frame');
    player.close();
  });

  it('answers garbage on the player port with 400 and keeps serving players', async () => {
    const port = Number(new URL(peers[2]!.playerUrl).port);
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (bytes: Buffer) => {
      answer += bytes.toString('latin1');
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(randomBytes(512));
    socket.write('\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    const player = openPlayer(peers[2]!.playerUrl);
    await until(() => player.receivedBytes > 10_000, 10_000, 'stream after the garbage');
    player.close();
  });
});
