// Loopback helpers shared by the integration tests (through test/helpers.ts) and the
// streaming bench (bench/streaming-figures.mjs, run by node alone, hence plain JavaScript;
// the types are in loopback.d.mts). Everything binds to 127.0.0.1 (brief rule 5).
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { startPeer } from '@p2psp/peer/node';

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms; throws after `limitMs` (a bound, not an assertion on time). */
export async function until(condition, limitMs = 10_000, what = 'condition') {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A live ingest: random bytes written to a stream at `bytesPerSecond`, in `blockBytes`
 * blocks, for at most `maxSeconds` (every sending loop is bounded). Random bytes make every
 * chunk unique, so a player's output can be located in what was sent.
 */
export function startRandomFeed({ bytesPerSecond, blockBytes = 1000, maxSeconds }) {
  const stream = new PassThrough();
  const periodMs = (blockBytes / bytesPerSecond) * 1000;
  const started = performance.now();
  let sentBlocks = 0;
  let ended = false;
  let timer;
  const tick = () => {
    if (ended) return;
    const elapsed = performance.now() - started;
    if (elapsed > maxSeconds * 1000) {
      end();
      return;
    }
    // Catch up after timer lateness: as many blocks as the clock says are due.
    while (sentBlocks * periodMs <= elapsed) {
      stream.write(randomBytes(blockBytes));
      sentBlocks += 1;
    }
    timer = setTimeout(tick, Math.max(1, periodMs / 2));
  };
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    stream.end();
  };
  timer = setTimeout(tick, 0);
  return { stream, end };
}

/** `startSource` options for a source on loopback reading `feed` as an opaque stream. */
export function loopbackSourceOptions(feed) {
  return {
    input: '-',
    stdin: feed.stream,
    mediaType: 'application/octet-stream',
    address: '127.0.0.1',
    port: 0,
  };
}

/** `startPeer` options for a peer on loopback joining `source`, players on a free port. */
export function loopbackPeerOptions(source, seed, extra = {}) {
  return {
    source: { address: '127.0.0.1', port: source.endpoint.port },
    address: '127.0.0.1',
    playerPort: 0,
    seed,
    ...extra,
  };
}

/**
 * Starts `count` loopback peers one after the other (seeds `firstSeed`, `firstSeed + 1`...),
 * pushing each into `peers` as soon as it runs, so a caller's cleanup stops them even when
 * a later one fails to start. `extra`: more `startPeer` options for each.
 */
export async function startLoopbackPeers(source, count, firstSeed, peers = [], extra = {}) {
  for (let index = 0; index < count; index += 1) {
    peers.push(await startPeer(loopbackPeerOptions(source, firstSeed + index, extra)));
  }
  return peers;
}
