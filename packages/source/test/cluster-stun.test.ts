import { createSocket } from 'node:dgram';
import { detectNat } from '@p2psp/nat/node';
import { boundedLiveFeed, loopbackFeedSource } from '@p2psp/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type SourceHandle, startSource } from '../src/node/index.js';

/**
 * With a second address the source's cluster port serves RFC 5780
 * behaviour discovery (four sockets: the cluster one plus A1:P2, A2:P1, A2:P2), on
 * loopback (127.0.0.1 and 127.0.0.2, both on Linux's lo).
 */

/** A bounded live feed: 1 KiB every 20 ms for at most 10 s. */
const FEED_BLOCKS = 500;

describe('RFC 5780 on the source cluster port (--alternate-address)', () => {
  const sources: SourceHandle[] = [];
  afterAll(async () => {
    await Promise.all(sources.map((source) => source.stop()));
  });

  it('full discovery against the cluster port: open, with OTHER-ADDRESS, no warning', {
    timeout: 20_000,
  }, async () => {
    const source = await startSource({
      ...loopbackFeedSource(FEED_BLOCKS),
      seed: 1,
      stunAlternateAddress: '127.0.0.2',
    });
    sources.push(source);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const result = await detectNat({ server: source.endpoint, socket, timeout: 10_000 });
      expect(result.otherAddress).toEqual({ address: '127.0.0.2', port: source.endpoint.port + 1 });
      expect(result.warning).toBeNull();
      expect(result.report.type).toBe('open');
      expect(result.mapping).toBe('endpoint-independent');
      expect(result.filtering).toBe('endpoint-independent');
      expect(result.report.mappedEndpoint).toEqual({
        address: '127.0.0.1',
        port: socket.address().port,
      });
    } finally {
      socket.close();
    }
    // The STUN traffic never reached the core as datagrams to drop.
    expect(source.core.stats().datagramsDropped.malformed).toBe(0);
    expect(source.core.stats().datagramsDropped['non-member']).toBe(0);
  });

  it('refuses --alternate-address without --address, naming the fix', async () => {
    const input = boundedLiveFeed(FEED_BLOCKS);
    await expect(
      startSource({
        input: '-',
        stdin: input,
        mediaType: 'application/octet-stream',
        port: 0,
        stunAlternateAddress: '127.0.0.2',
      }),
    ).rejects.toMatchObject({ code: 'P2PSP_ERR_BAD_OPTION', message: /needs --address/ });
    input.destroy();
  });
});
