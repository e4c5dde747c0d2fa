import { createSocket, type Socket } from 'node:dgram';
import { type SourceHandle, startSource } from '@p2psp/source/node';
import { loopbackFeedSource } from '@p2psp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerHandle, startPeer } from '../src/node/index.js';

/**
 * On real sockets (loopback): a peer detects its NAT against the STUN service the
 * source runs on its own cluster port, on the very UDP socket it then streams on, and the
 * report reaches the source's member table through the join request.
 */

describe('NAT detection against the source on loopback (real UDP/TCP)', () => {
  let source: SourceHandle;
  const peers: PeerHandle[] = [];
  let silent: Socket | null = null;

  beforeAll(async () => {
    // A bounded live feed: 1 KiB every 20 ms for at most 15 s (50 KB/s), then the end.
    source = await startSource({ ...loopbackFeedSource(750), seed: 1 });
  });

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await source?.stop();
    silent?.close();
  });

  it("reports type 'open' with its own socket as the mapped endpoint, recorded by the source", {
    timeout: 20_000,
  }, async () => {
    const peer = await startPeer({
      source: { address: '127.0.0.1', port: source.endpoint.port },
      address: '127.0.0.1',
      playerPort: 0,
      seed: 2,
    });
    peers.push(peer);
    // The source's STUN answered on the cluster port: the endpoint it sees is the socket's.
    expect(peer.nat.type).toBe('open');
    expect(peer.nat.mappedEndpoint).toEqual(peer.udp);
    expect(source.core.stats().stunRequestsAnswered).toBeGreaterThanOrEqual(1);
    // The same socket then joined: the member the source lists is at that endpoint, with
    // that report in its row of the member table.
    await until(() => source.core.members().length === 1);
    const member = source.core.members()[0]!;
    expect(member.endpoint).toEqual(peer.udp);
    expect(member.nat).toEqual(peer.nat);
    // Late STUN answers (retransmissions) on the stream socket are ignored, never counted
    // as malformed.
    expect(peer.core.stats().datagramsDropped.malformed).toBe(0);
  });

  it("--no-nat-detect reports 'unknown' and sends no STUN", { timeout: 20_000 }, async () => {
    const before = source.core.stats().stunRequestsAnswered;
    const peer = await startPeer({
      source: { address: '127.0.0.1', port: source.endpoint.port },
      address: '127.0.0.1',
      playerPort: 0,
      seed: 3,
      natDetect: false,
    });
    peers.push(peer);
    expect(peer.nat.type).toBe('unknown');
    expect(source.core.stats().stunRequestsAnswered).toBe(before);
    await until(() => source.core.members().some((member) => member.nat.type === 'unknown'));
  });

  it("a --stun server that never answers costs a bounded wait and 'unknown', not the join", {
    timeout: 20_000,
  }, async () => {
    silent = createSocket('udp4');
    const bound = silent;
    await new Promise<void>((resolve) => bound.bind(0, '127.0.0.1', resolve));
    const peer = await startPeer({
      source: { address: '127.0.0.1', port: source.endpoint.port },
      stun: `127.0.0.1:${bound.address().port}`,
      natDetectTimeoutMs: 1000,
      address: '127.0.0.1',
      playerPort: 0,
      seed: 4,
    });
    peers.push(peer);
    expect(peer.nat.type).toBe('unknown');
    expect(peer.core.state).toBe('streaming');
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
