import { request } from 'node:http';
import { afterEach } from 'vitest';
import type { PlayerServer } from './player-server.js';

// What the player tests share: their servers closed after each test, a bounded wait, and
// an HTTP player reading a stream into memory.

/** A list to push a test's player servers onto; each is closed after the test. */
export function serversClosedAfterEach(): PlayerServer[] {
  const servers: PlayerServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return servers;
}

/** Polls `condition` every 5 ms; throws after `limitMs` (a bound, not an assertion on time). */
export async function until(condition: () => boolean, limitMs = 5_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > limitMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An HTTP player reading the stream into memory. */
export function openPlayer(url: string) {
  const received: Buffer[] = [];
  const state = {
    status: 0,
    contentType: '',
    ended: false,
    headers: {} as Record<string, unknown>,
  };
  const client = request(url, (response) => {
    state.status = response.statusCode ?? 0;
    state.contentType = String(response.headers['content-type']);
    state.headers = response.headers;
    response.on('data', (bytes: Buffer) => received.push(bytes));
    response.on('end', () => {
      state.ended = true;
    });
    response.on('error', () => {
      state.ended = true;
    });
  });
  client.on('error', () => {
    state.ended = true;
  });
  client.end();
  return {
    state,
    bytes: () => Buffer.concat(received),
    close: () => client.destroy(),
  };
}
