import {
  type CoreOutput,
  createRandom,
  drainOutputs,
  type Endpoint,
  encodeFrame,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { accept, SOURCE } from './joined-peer.test-helpers.js';
import type { PeerEvent } from './peer-events.js';
import { MAX_REDIRECTS } from './redirect-path.js';
import { RejoiningPeerCore } from './rejoining-peer-core.js';

// Trees of clusters, the peer's side: a full source refuses with `redirect` and the peer
// joins the child source it names; bounded, loop-free (sans-IO: a scripted source).

const child = (index: number): Endpoint => ({ address: `10.0.2.${index}`, port: 4552 });

function named<Name extends PeerEvent['name']>(outputs: CoreOutput[], name: Name) {
  return outputs.flatMap((output) =>
    output.type === 'event' && output.event.name === name
      ? [output.event as Extract<PeerEvent, { name: Name }>]
      : [],
  );
}

/** Outputs drained but not looked at yet: a redirect's `connect` comes with its refusal. */
const pending = new WeakMap<RejoiningPeerCore, CoreOutput[]>();

/** Fires due timers, then the source at the end of the `connect` answers `frame`. */
function answer(core: RejoiningPeerCore, now: number, frame: Parameters<typeof encodeFrame>[0]) {
  for (let due = core.pollTimeout(); due !== undefined && due <= now; due = core.pollTimeout()) {
    core.handleTimeout(due);
  }
  const outputs = [...(pending.get(core) ?? []), ...drainOutputs(core)];
  const connect = outputs.findLast((output) => output.type === 'connect');
  if (connect?.type !== 'connect') throw new Error('no connect');
  core.handle({ type: 'connection-open', connection: -1, remote: connect.to }, now);
  core.handle({ type: 'connection-data', connection: -1, bytes: encodeFrame(frame) }, now);
  const answered = drainOutputs(core);
  pending.set(core, answered);
  return { to: connect.to, outputs: answered };
}

const redirect = (to: Endpoint) =>
  ({ type: 'join-refused', reason: 'redirect', redirect: to, message: 'full' }) as const;

describe('redirects', () => {
  it('a full source sends the peer to a child source, which it joins; the path shows both', () => {
    const core = new RejoiningPeerCore({ source: SOURCE, random: createRandom(3) });
    const first = answer(core, 0, redirect(child(1)));
    expect(first.to).toEqual(SOURCE);
    expect(named(first.outputs, 'join-redirect')[0]?.fields).toEqual({
      from: '10.0.0.1:4552',
      to: '10.0.2.1:4552',
      hops: 1,
    });
    const second = answer(core, 0, accept());
    expect(second.to).toEqual(child(1));
    expect(core.state).not.toBe('stopped');
    expect(named(second.outputs, 'join-accept')).toHaveLength(1);
    expect(core.stats().path).toEqual(['10.0.0.1:4552', '10.0.2.1:4552']);
  });

  it('a redirect back to a source on the path is not followed', () => {
    const core = new RejoiningPeerCore(
      { source: SOURCE, random: createRandom(3) },
      { timeoutMillis: 0 },
    );
    answer(core, 0, redirect(child(1)));
    const loop = answer(core, 0, redirect(SOURCE));
    expect(named(loop.outputs, 'join-redirect')).toHaveLength(0);
    expect(loop.outputs.some((output) => output.type === 'connect')).toBe(false);
    expect(core.state).toBe('stopped');
  });

  it(`gives up after ${MAX_REDIRECTS} redirects in a row, and starts over at its source`, () => {
    const core = new RejoiningPeerCore({ source: SOURCE, random: createRandom(3) });
    for (let hop = 1; hop <= MAX_REDIRECTS; hop++) answer(core, 0, redirect(child(hop)));
    expect(core.stats().path).toHaveLength(MAX_REDIRECTS + 1);
    const last = answer(core, 0, redirect(child(MAX_REDIRECTS + 1)));
    const [wait] = named(last.outputs, 'rejoin-wait');
    expect(wait?.fields.cause).toContain(`more than ${MAX_REDIRECTS} redirects`);
    // The next attempt enters at the configured source again.
    const again = answer(core, 10_000, accept());
    expect(again.to).toEqual(SOURCE);
    expect(core.stats().path).toEqual(['10.0.0.1:4552']);
  });
});
