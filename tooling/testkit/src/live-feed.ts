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
