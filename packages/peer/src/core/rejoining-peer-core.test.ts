import {
  type CoreOutput,
  createRandom,
  drainOutputs,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { accept, chunkDatagram, ME, SOURCE, sent } from './joined-peer.test-helpers.js';
import type { PeerEvent } from './peer-events.js';
import type { RejoinOptions } from './rejoin-policy.js';
import { REJOIN_SOURCE_TIMEOUT_MILLIS, RejoiningPeerCore } from './rejoining-peer-core.js';

// The peer that joins again (sans-IO: a scripted source and clock, nothing sleeps).

function events(outputs: CoreOutput[]): PeerEvent[] {
  return outputs.flatMap((output) => (output.type === 'event' ? [output.event as PeerEvent] : []));
}

function named<Name extends PeerEvent['name']>(outputs: CoreOutput[], name: Name) {
  return events(outputs).filter(
    (event): event is Extract<PeerEvent, { name: Name }> => event.name === name,
  );
}

function peer(rejoin: RejoinOptions = {}) {
  return new RejoiningPeerCore({ source: SOURCE, random: createRandom(3) }, rejoin);
}

/** Fires the core's timers up to `now`, as a driver does. */
function advance(core: RejoiningPeerCore, now: number): CoreOutput[] {
  const outputs: CoreOutput[] = [];
  for (let due = core.pollTimeout(); due !== undefined && due <= now; due = core.pollTimeout()) {
    core.handleTimeout(due);
    outputs.push(...drainOutputs(core));
  }
  return outputs;
}

/** A session joins as `memberId`: connect, accept, hello-ack, then the source's first chunk. */
function join(core: RejoiningPeerCore, memberId: number, now: number): CoreOutput[] {
  const outputs = advance(core, now);
  core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, now);
  core.handle(
    { type: 'connection-data', connection: -1, bytes: encodeFrame(accept({ memberId })) },
    now,
  );
  outputs.push(...drainOutputs(core));
  const hello = sent(outputs).find(
    ({ to, message }) => to.port === SOURCE.port && message.type === 'hello',
  );
  if (hello?.message.type !== 'hello') throw new Error('no hello to the source');
  const fromSource = (bytes: Uint8Array) =>
    core.handle({ type: 'datagram', from: SOURCE, bytes }, now);
  fromSource(encodeDatagram({ type: 'hello-ack', memberId, nonce: hello.message.nonce }));
  fromSource(chunkDatagram(0, memberId));
  outputs.push(...drainOutputs(core));
  return outputs;
}

/** The session's connection to the source opens: the frames of its join request. */
function joinRequest(core: RejoiningPeerCore, now: number) {
  core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, now);
  const [write] = drainOutputs(core);
  const decoder = new FrameDecoder();
  decoder.push(write?.type === 'write' ? write.bytes : new Uint8Array(0));
  return [...decoder];
}

const goodbye = (memberId: number) =>
  encodeDatagram({ type: 'goodbye', memberId, reason: 'timeout' });

describe('RejoiningPeerCore', () => {
  it('told it was removed, joins again with a new member id after a jittered delay', () => {
    const core = peer();
    join(core, ME, 0);
    expect(core.state).toBe('streaming');
    core.handle({ type: 'datagram', from: SOURCE, bytes: goodbye(ME) }, 1000);
    const removed = drainOutputs(core);
    // The removal is an event, never a stop: the driver keeps its sockets and players.
    expect(removed.some((output) => output.type === 'stopped')).toBe(false);
    const [wait] = named(removed, 'rejoin-wait');
    expect(wait?.fields).toMatchObject({
      code: 'P2PSP_ERR_REMOVED',
      cause: 'removed by the source (timeout)',
      attempt: 1,
      lastFailure: null,
    });
    const delay = wait!.fields.delayMillis;
    expect(delay).toBeGreaterThanOrEqual(250);
    expect(delay).toBeLessThanOrEqual(500);
    expect(core.state).toBe('rejoining');
    expect(core.rejoin()).toEqual({
      rejoins: 0,
      attempts: 0,
      lastCause: 'P2PSP_ERR_REMOVED: removed by the source (timeout)',
    });
    expect(core.pollTimeout()).toBe(1000 + delay);
    // Datagrams meanwhile (the source's other copies, old relays) are dropped and counted.
    core.handle({ type: 'datagram', from: SOURCE, bytes: goodbye(ME) }, 1001);
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(1, ME) }, 1002);
    expect(drainOutputs(core).filter((output) => output.type !== 'event')).toEqual([]);
    expect(core.state).toBe('rejoining');
    expect(core.stats().datagramsDropped['not-joined']).toBe(2);
    // The ended session is counted once: its one chunk from the source, not twice.
    expect(core.stats().chunksFromSource).toBe(1);
    // Nothing before the delay; then a fresh session connects to the source.
    expect(advance(core, 1000 + delay - 1)).toEqual([]);
    const rejoined = join(core, 9, 1000 + delay);
    expect(rejoined[0]).toEqual({ type: 'connect', connection: -1, to: SOURCE });
    expect(rejoined).toContainEqual({
      type: 'stream-header',
      mediaType: 'audio/mpeg',
      header: Uint8Array.of(7, 7),
    });
    expect(named(rejoined, 'rejoin-done')[0]?.fields).toEqual({
      memberId: 9,
      attempts: 1,
      gapMillis: delay,
    });
    expect(core.state).toBe('streaming');
    expect(core.memberId).toBe(9);
    const stats = core.stats();
    expect(stats.rejoin).toMatchObject({ rejoins: 1, attempts: 0 });
    // Counters run on across sessions: one chunk from the source in each.
    expect(stats.chunksFromSource).toBe(2);
  });

  it('a goodbye for another member id is no removal', () => {
    const core = peer();
    join(core, ME, 0);
    core.handle({ type: 'datagram', from: SOURCE, bytes: goodbye(ME + 1) }, 1000);
    expect(named(drainOutputs(core), 'rejoin-wait')).toEqual([]);
    expect(core.state).toBe('streaming');
  });

  it('when the source falls silent, tries again with backoff, then stops naming the silence and the tries', () => {
    const core = peer({ timeoutMillis: 10_000 });
    join(core, ME, 0);
    const silentAt = REJOIN_SOURCE_TIMEOUT_MILLIS;
    const outputs = advance(core, silentAt);
    expect(named(outputs, 'rejoin-wait')[0]?.fields).toMatchObject({
      code: 'P2PSP_ERR_SOURCE_SILENT',
      attempt: 1,
    });
    // The source is gone: every connection is refused.
    let now = silentAt;
    let stopped: CoreOutput | undefined;
    const waits: number[] = [];
    while (stopped === undefined && now < silentAt + 60_000) {
      now = core.pollTimeout() ?? now;
      const attempt = advance(core, now);
      expect(attempt).toContainEqual({ type: 'connect', connection: -1, to: SOURCE });
      expect(core.state).toBe('rejoining');
      core.handle({ type: 'connection-closed', connection: -1, reason: 'ECONNREFUSED' }, now);
      const failed = drainOutputs(core);
      for (const wait of named(failed, 'rejoin-wait')) {
        expect(wait.fields.lastFailure).toMatch(/^P2PSP_ERR_JOIN_FAILED: the connection/);
        waits.push(wait.fields.delayMillis);
      }
      stopped = failed.find((output) => output.type === 'stopped');
    }
    expect(waits.length).toBeGreaterThanOrEqual(3);
    // Doubling: each delay at least the previous one's fixed half.
    for (const [index, delay] of waits.entries()) {
      if (index > 0) expect(delay).toBeGreaterThanOrEqual(waits[index - 1]! / 2);
    }
    expect(stopped).toMatchObject({ type: 'stopped' });
    const reason = (stopped as { reason: string }).reason;
    expect(reason).toMatch(
      new RegExp(
        `^P2PSP_ERR_SOURCE_SILENT: nothing from the source 10\\.0\\.0\\.1:4552 for ${REJOIN_SOURCE_TIMEOUT_MILLIS} ms.*; rejoining failed: ${waits.length + 1} attempts in \\d+ ms \\(last: P2PSP_ERR_JOIN_FAILED: `,
      ),
    );
    expect(core.state).toBe('stopped');
    expect(core.stats().stopReason).toBe(reason);
    // Every session counted once: the first one's chunk from the source, none since.
    expect(core.stats().chunksFromSource).toBe(1);
    expect(core.pollTimeout()).toBeUndefined();
  });

  it('the first join failing stops the peer as before (no rejoin)', () => {
    const core = peer();
    advance(core, 0);
    core.handle({ type: 'connection-closed', connection: -1, reason: 'ECONNREFUSED' }, 10);
    const outputs = drainOutputs(core);
    expect(named(outputs, 'rejoin-wait')).toEqual([]);
    expect(outputs.at(-1)).toMatchObject({
      type: 'stopped',
      reason: expect.stringMatching(/^P2PSP_ERR_JOIN_FAILED: /),
    });
  });

  it('the stream ending, and a stop asked for while waiting, stop the peer', () => {
    const ended = peer();
    join(ended, ME, 0);
    ended.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'goodbye', memberId: 0, reason: 'stream-end' }),
      },
      100,
    );
    expect(advance(ended, 10_000).at(-1)).toEqual({ type: 'stopped', reason: 'stream-end' });

    const waiting = peer();
    join(waiting, ME, 0);
    waiting.handle({ type: 'datagram', from: SOURCE, bytes: goodbye(ME) }, 100);
    drainOutputs(waiting);
    waiting.handle({ type: 'stop' }, 101);
    expect(drainOutputs(waiting)).toEqual([{ type: 'stopped', reason: 'stop' }]);
    expect(waiting.pollTimeout()).toBeUndefined();
  });

  it('with timeoutMillis 0 stops at the removal as a plain PeerCore does', () => {
    const core = peer({ timeoutMillis: 0 });
    join(core, ME, 0);
    core.handle({ type: 'datagram', from: SOURCE, bytes: goodbye(ME) }, 100);
    expect(drainOutputs(core).at(-1)).toEqual({
      type: 'stopped',
      reason: 'removed by the source: timeout',
    });
    // And it keeps the plain core's 30 s silence.
    expect(peer({ timeoutMillis: 0 }).config.sourceTimeoutMillis).toBe(30_000);
    expect(peer().config.sourceTimeoutMillis).toBe(REJOIN_SOURCE_TIMEOUT_MILLIS);
  });

  it('changing role leaves with goodbyes and joins again at once as liberated, and back', () => {
    const core = peer();
    join(core, ME, 0);
    core.changeRole('liberated', 1000);
    const left = drainOutputs(core);
    expect(left.some((output) => output.type === 'stopped')).toBe(false);
    expect(named(left, 'role-change')[0]?.fields).toEqual({ from: 'peer', to: 'liberated' });
    expect(
      sent(left).some(({ to, message }) => to.port === SOURCE.port && message.type === 'goodbye'),
    ).toBe(true);
    // No backoff: the new session connects at once, asking for the liberated role.
    expect(core.pollTimeout()).toBe(1000);
    advance(core, 1000);
    expect(joinRequest(core, 1000)).toMatchObject([
      { ok: true, message: { type: 'join-request', role: 'liberated' } },
    ]);
    core.changeRole('liberated', 1001);
    expect(named(drainOutputs(core), 'role-change')).toEqual([]);
    const back = peer();
    join(back, ME, 0);
    back.changeRole('liberated', 10);
    back.changeRole('peer', 20);
    // Changed again before the new session started: it joins as a plain peer.
    advance(back, 20);
    expect(joinRequest(back, 20)).toMatchObject([
      { ok: true, message: { type: 'join-request', role: 'peer' } },
    ]);
  });
});
