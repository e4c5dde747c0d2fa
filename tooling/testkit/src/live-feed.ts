import { Readable } from 'node:stream';

/**
 * A bounded live feed for a source's stdin: 1 KiB every 20 ms (50 KB/s), block k filled
 * with k & 0xff, ending after `blocks` blocks (every sending loop is bounded, brief rule 5).
 */
export function boundedLiveFeed(blocks: number): Readable {
  let sent = 0;
  const stream = new Readable({ read() {} });
  const timer = setInterval(() => {
    sent += 1;
    if (sent > blocks) {
      clearInterval(timer);
      stream.push(null);
      return;
    }
    stream.push(Buffer.alloc(1024, sent & 0xff));
  }, 20);
  stream.on('close', () => clearInterval(timer));
  return stream;
}

/**
 * `startSource` options for a source on loopback (a free port) streaming a bounded live
 * feed of `blocks` blocks as opaque bytes: no media type to detect, no pacing to wait for.
 */
export function loopbackFeedSource(blocks: number) {
  return {
    input: '-',
    stdin: boundedLiveFeed(blocks),
    mediaType: 'application/octet-stream',
    address: '127.0.0.1',
    port: 0,
  };
}
