import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { PassThrough } from 'node:stream';

/** Polls `condition` every 20 ms; throws after `limitMs` (a bound, not an assertion on time). */
export async function until(
  condition: () => boolean,
  limitMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A live ingest for tests: random bytes written to a stream at `bytesPerSecond`, in
 * `blockBytes` blocks, for at most `maxSeconds` (every sending loop is bounded). Random
 * bytes make every chunk unique, so a player's output can be located in what was sent.
 */
export function startRandomFeed(options: {
  bytesPerSecond: number;
  blockBytes?: number;
  maxSeconds: number;
}) {
  const stream = new PassThrough();
  const blockBytes = options.blockBytes ?? 1000;
  const periodMs = (blockBytes / options.bytesPerSecond) * 1000;
  const started = performance.now();
  let sentBlocks = 0;
  let ended = false;
  const tick = () => {
    if (ended) return;
    const elapsed = performance.now() - started;
    if (elapsed > options.maxSeconds * 1000) {
      end();
      return;
    }
    // Catch up after timer lateness: as many blocks as the clock says are due.
    while (sentBlocks * periodMs <= elapsed) {
      stream.write(randomBytes(blockBytes));
      sentBlocks += 1;
    }
    timer = setTimeout(tick, periodMs);
  };
  let timer = setTimeout(tick, 0);
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    stream.end();
  };
  return { stream, end };
}

/** An HTTP player: reads a peer's stream into memory. */
export function openPlayer(url: string) {
  const received: Buffer[] = [];
  let receivedBytes = 0;
  const state = { status: 0, contentType: '', ended: false, error: '' };
  const client = request(url, (response) => {
    state.status = response.statusCode ?? 0;
    state.contentType = String(response.headers['content-type']);
    response.on('data', (bytes: Buffer) => {
      received.push(bytes);
      receivedBytes += bytes.byteLength;
    });
    response.on('end', () => {
      state.ended = true;
    });
    response.on('error', (error) => {
      state.error = error.message;
      state.ended = true;
    });
  });
  client.on('error', (error) => {
    state.error = error.message;
    state.ended = true;
  });
  client.end();
  return {
    state,
    get receivedBytes() {
      return receivedBytes;
    },
    bytes: () => Buffer.concat(received),
    close: () => client.destroy(),
  };
}
