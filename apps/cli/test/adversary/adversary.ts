import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import type { PeerHandle } from '@p2psp/peer/node';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import {
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import {
  loopbackSourceOptions,
  openPlayer,
  sleep,
  startLoopbackPeers,
  startRandomFeed,
  until,
} from '../helpers.js';

// The adversary suite's cluster and attackers: a real source and peers on loopback, real
// UDP and TCP, and attackers built from the wire format (packages/wire/README.md) as an
// outsider would. Every attack is bounded in count and time by its caller.

export const CHUNK_SIZE = 1024;
export const BUFFER_SIZE = 64;

export type Player = ReturnType<typeof openPlayer>;

export interface Cluster {
  readonly source: SourceHandle;
  readonly peers: PeerHandle[];
  readonly players: Player[];
  /** Every byte the source ingested, in order. */
  ingested(): Buffer;
  stop(): Promise<void>;
}

/**
 * A source fed 32 kB/s of random bytes (about 31 chunks of 1,024 bytes a second) for
 * `seconds`, `peers` peers, and a player on each.
 */
export async function startCluster(options: {
  peers: number;
  seconds: number;
  core?: Parameters<typeof startSource>[0]['core'];
  /** Signed chunks: the source signs, the peers verify. */
  signed?: boolean;
}): Promise<Cluster> {
  const feed = startRandomFeed({ bytesPerSecond: 32_000, maxSeconds: options.seconds });
  const ingested: Buffer[] = [];
  const peers: PeerHandle[] = [];
  const players: Player[] = [];
  const source = await startSource({
    ...loopbackSourceOptions(feed),
    chunkSize: CHUNK_SIZE,
    bufferSize: BUFFER_SIZE,
    seed: 1,
    credentials: true,
    signChunks: options.signed === true,
    ...(options.core !== undefined ? { core: options.core } : {}),
    onIngest: (bytes) => ingested.push(Buffer.from(bytes)),
  });
  const stop = async () => {
    feed.end();
    for (const player of players) player.close();
    await Promise.all(peers.map((peer) => peer.stop()));
    await source.stop();
  };
  try {
    await startLoopbackPeers(source, options.peers, 300, peers, {
      verifyChunks: options.signed === true,
    });
    players.push(...peers.map((peer) => openPlayer(peer.playerUrl)));
    await until(() => source.status().members === options.peers, 10_000, 'peers to join');
    await until(
      () => peers.every((peer) => peer.core.stats().playChunkNumber !== null),
      10_000,
      'every peer to play',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { source, peers, players, ingested: () => Buffer.concat(ingested), stop };
}

/**
 * What a player got, cut into the chunks it was made of (the source cuts the ingest into
 * `CHUNK_SIZE` pieces from its first byte; a peer writes whole payloads): how many are
 * pieces of the ingest, and how many are not (forged bytes that reached the player).
 */
export function playedChunks(played: Buffer, ingest: Buffer): { honest: number; forged: number } {
  const hash = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
  const pieces = new Set<string>();
  for (let offset = 0; offset + CHUNK_SIZE <= ingest.length; offset += CHUNK_SIZE) {
    pieces.add(hash(ingest.subarray(offset, offset + CHUNK_SIZE)));
  }
  let honest = 0;
  let forged = 0;
  for (let offset = 0; offset + CHUNK_SIZE <= played.length; offset += CHUNK_SIZE) {
    if (pieces.has(hash(played.subarray(offset, offset + CHUNK_SIZE)))) honest++;
    else forged++;
  }
  return { honest, forged };
}

/** Chunk loss of a peer's play-out: chunks played as missing over all chunks due. */
/** Runs `round` every `roundMillis` for `millis`: an attack, bounded in time. */
export async function attack(millis: number, roundMillis: number, round: () => void) {
  const started = performance.now();
  while (performance.now() - started < millis) {
    round();
    await sleep(roundMillis);
  }
}

/** Once every player's stream ended: what each played (against the ingest) and each peer's loss. */
export async function playedOut(cluster: Cluster) {
  await until(
    () => cluster.players.every((player) => player.state.ended),
    30_000,
    'streams to end',
  );
  const ingest = cluster.ingested();
  return {
    results: cluster.players.map((player) => playedChunks(player.bytes(), ingest)),
    losses: cluster.peers.map(lossRatio),
  };
}

export function lossRatio(peer: PeerHandle): number {
  const { chunksLost, chunksPlayed } = peer.status();
  return chunksLost / Math.max(1, chunksLost + chunksPlayed);
}

/** A chunk datagram with `CHUNK_SIZE` random bytes: a forgery no ingest contains. */
export function forgedChunk(chunkNumber: number, origin: number): Uint8Array {
  return encodeDatagram({
    type: 'chunk',
    chunkNumber: chunkNumber >>> 0,
    origin,
    flags: { nonExclusive: false, recovered: false },
    payload: randomBytes(CHUNK_SIZE),
    signature: new Uint8Array(0),
  });
}

/** A UDP socket on loopback that counts what it sends and receives, and decodes the latter. */
export interface CountingSocket {
  readonly socket: Socket;
  readonly endpoint: Endpoint;
  readonly counts: { bytesOut: number; bytesIn: number; datagramsIn: number; chunksIn: number };
  send(to: Endpoint, bytes: Uint8Array): void;
  /** Called for each datagram received that decodes. */
  onMessage: ((message: DatagramMessage, from: Endpoint, bytes: Uint8Array) => void) | null;
  close(): Promise<void>;
}

export async function countingSocket(): Promise<CountingSocket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const counts = { bytesOut: 0, bytesIn: 0, datagramsIn: 0, chunksIn: 0 };
  const handle: CountingSocket = {
    socket,
    endpoint: { address: '127.0.0.1', port: socket.address().port },
    counts,
    send(to, bytes) {
      counts.bytesOut += bytes.length;
      socket.send(bytes, to.port, to.address);
    },
    onMessage: null,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (bytes, remote) => {
    counts.bytesIn += bytes.length;
    counts.datagramsIn++;
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) return;
    if (decoded.message.type === 'chunk') counts.chunksIn++;
    handle.onMessage?.(decoded.message, { address: remote.address, port: remote.port }, bytes);
  });
  return handle;
}

/**
 * A join over TCP as the wire format describes it (rule 4): the join request, and the
 * frame the source answers with (an accept or a refusal). The connection is closed after.
 */
export async function rawJoin(source: Endpoint): Promise<FrameMessage> {
  const connection = connect(source.port, source.address);
  const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  try {
    return await new Promise<FrameMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to the join request')), 5000);
      connection.on('error', reject);
      connection.on('data', (bytes) => {
        decoder.push(bytes);
        for (const result of decoder) {
          clearTimeout(timer);
          if (result.ok) resolve(result.message);
          else reject(new Error(result.error.detail));
          return;
        }
      });
      connection.write(
        encodeFrame({
          type: 'join-request',
          role: 'peer',
          privateEndpoint: null,
          nat: UNKNOWN_NAT_REPORT,
          credential: new Uint8Array(0),
        }),
      );
    });
  } finally {
    connection.destroy();
  }
}

/**
 * A member that joined like any peer (TCP join, then a UDP hello), built by hand: listed by
 * the source, so the peers take its chunks. It relays its source chunks to the peers as
 * rule 2 asks, so nobody complains about it; what else it sends is up to the test.
 */
export async function rawMember(cluster: Cluster): Promise<{
  readonly memberId: number;
  readonly socket: CountingSocket;
}> {
  const source = cluster.source.endpoint;
  const socket = await countingSocket();
  const accept = await rawJoin(source);
  if (accept.type !== 'join-accept') throw new Error(`join refused: ${JSON.stringify(accept)}`);
  socket.onMessage = (message, from, bytes) => {
    if (from.port !== source.port) return;
    if (message.type === 'chunk' && !message.flags.recovered) {
      for (const peer of cluster.peers) socket.send(peer.udp, bytes);
    }
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    socket.send(
      source,
      encodeDatagram({ type: 'hello', memberId: accept.memberId, nonce: attempt + 1 }),
    );
    await sleep(100);
    if (socket.counts.chunksIn > 0) break;
  }
  await until(() => cluster.source.status().members === cluster.peers.length + 1, 5000, 'member');
  return { memberId: accept.memberId, socket };
}
