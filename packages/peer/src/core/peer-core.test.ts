import {
  type CoreOutput,
  createRandom,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type JoinAccept,
  peerListReplies,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { PeerConfigError } from './errors.js';
import {
  accept,
  chunkDatagram,
  joinedPeer,
  ME,
  member,
  PLAIN,
  SOURCE,
  sent,
} from './joined-peer.test-helpers.js';
import {
  PEER_DEFAULTS,
  type PeerConfig,
  PLAYOUT_DELAY_MIN_CHUNKS,
  playoutDelayFor,
} from './peer-config.js';
import { PeerCore } from './peer-core.js';

function chunk(chunkNumber: number, origin = ME, flags = PLAIN): Uint8Array {
  return chunkDatagram(chunkNumber, origin, flags);
}

function fromMember(memberId: number): Endpoint {
  return member(memberId).endpoint;
}

describe('PeerCore options', () => {
  it.each([
    [{ source: { address: '', port: 1 } }, 'source'],
    [{ source: { address: '10.0.0.1', port: 70000 } }, 'source'],
    [{ role: 'boss' as never }, 'role'],
    [{ debtThreshold: 0 }, 'debtThreshold'],
    [{ playoutDelayChunks: 0 }, 'playoutDelayChunks'],
    [{ playoutDelayMillis: 0 }, 'playoutDelayMillis'],
    [{ playoutDelayMillis: 400, playoutDelayChunks: 4 }, 'playoutDelayChunks'],
    [{ helloAttempts: 0 }, 'helloAttempts'],
    [{ random: undefined as never }, 'random'],
  ])('refuses %o naming %s', (options, option) => {
    const build = () => new PeerCore({ source: SOURCE, random: createRandom(1), ...options });
    expect(build).toThrow(PeerConfigError);
    try {
      build();
    } catch (error) {
      expect((error as PeerConfigError).code).toBe('P2PSP_ERR_CONFIG');
      expect((error as PeerConfigError).option).toBe(option);
    }
  });
});

describe('PeerCore join (rule 4)', () => {
  it('connects, asks to join, reads the accept, and says hello to the source and every member', () => {
    const core = new PeerCore({ source: SOURCE, random: createRandom(3), role: 'peer' });
    expect(core.pollTimeout()).toBe(0);
    expect(drainOutputs(core)).toEqual([{ type: 'connect', connection: -1, to: SOURCE }]);
    core.handleTimeout(0);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 1);
    const request = drainOutputs(core);
    const decoder = new FrameDecoder();
    decoder.push(request[0]?.type === 'write' ? request[0].bytes : new Uint8Array(0));
    expect([...decoder]).toMatchObject([
      { ok: true, message: { type: 'join-request', role: 'peer' } },
    ]);

    // The accept arrives in two TCP reads.
    const frame = encodeFrame(accept());
    core.handle({ type: 'connection-data', connection: -1, bytes: frame.subarray(0, 10) }, 2);
    core.handle({ type: 'connection-data', connection: -1, bytes: frame.subarray(10) }, 3);
    const outputs = drainOutputs(core);
    expect(outputs).toContainEqual({ type: 'close', connection: -1, reason: 'joined' });
    expect(outputs).toContainEqual({
      type: 'stream-header',
      mediaType: 'audio/mpeg',
      header: Uint8Array.of(7, 7),
    });
    const hellos = sent(outputs);
    expect(hellos.map(({ to }) => to.address)).toEqual([
      '10.0.0.1',
      '10.0.1.1',
      '10.0.1.2',
      '10.0.1.3',
      '10.0.1.4',
    ]);
    expect(hellos.every(({ message }) => message.type === 'hello' && message.memberId === ME)).toBe(
      true,
    );
    expect(core.state).toBe('streaming');
    expect(core.stats().neighbours).toBe(4);
    expect(core.monitor).toBe(false);
  });

  it('learns that it is the monitor from its own entry in the accept', () => {
    const { core } = joinedPeer({}, { members: [member(ME, true)] });
    expect(core.monitor).toBe(true);
  });

  it('stops with the reason when the source refuses', () => {
    const core = new PeerCore({ source: SOURCE, random: createRandom(3) });
    core.handleTimeout(0);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
    core.handle(
      {
        type: 'connection-data',
        connection: -1,
        bytes: encodeFrame({
          type: 'join-refused',
          reason: 'cluster-full',
          redirect: null,
          message: 'full',
        }),
      },
      1,
    );
    const outputs = drainOutputs(core);
    expect(outputs).toContainEqual(
      expect.objectContaining({
        type: 'event',
        event: expect.objectContaining({ name: 'join-refuse' }),
      }),
    );
    expect(outputs.at(-1)).toEqual({ type: 'stopped', reason: 'join-refused: cluster-full: full' });
    expect(core.state).toBe('stopped');
  });

  it('gives up the join after the timeout (P2PSP_ERR_JOIN_TIMEOUT)', () => {
    const core = new PeerCore({ source: SOURCE, random: createRandom(3), joinTimeoutMillis: 3000 });
    core.handleTimeout(100);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 150);
    expect(core.pollTimeout()).toBe(3100);
    core.handleTimeout(3100);
    const outputs = drainOutputs(core);
    expect(outputs).toContainEqual(expect.objectContaining({ type: 'close', connection: -1 }));
    expect(outputs.at(-1)).toMatchObject({
      type: 'stopped',
      reason: expect.stringMatching(/^P2PSP_ERR_JOIN_TIMEOUT/),
    });
  });

  it('fails the join when the connection closes or the source is refused', () => {
    const core = new PeerCore({ source: SOURCE, random: createRandom(3) });
    core.handleTimeout(0);
    core.handle({ type: 'connection-closed', connection: -1, reason: 'ECONNREFUSED' }, 1);
    expect(drainOutputs(core).at(-1)).toMatchObject({
      type: 'stopped',
      reason: expect.stringMatching(/^P2PSP_ERR_JOIN_FAILED.*ECONNREFUSED/),
    });
  });

  it('retries its hello to the source, bounded (P2PSP_ERR_HELLO_TIMEOUT)', () => {
    const core = new PeerCore({
      source: SOURCE,
      random: createRandom(3),
      helloAttempts: 3,
      helloRetryMillis: 100,
    });
    core.handleTimeout(0);
    core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
    core.handle(
      { type: 'connection-data', connection: -1, bytes: encodeFrame(accept({ members: [] })) },
      0,
    );
    drainOutputs(core);
    let hellos = 1;
    for (let time = 100; time <= 1000 && core.state !== 'stopped'; time += 100) {
      core.handleTimeout(time);
      const outputs = drainOutputs(core);
      hellos += sent(outputs).filter(({ message }) => message.type === 'hello').length;
      if ((core.state as string) === 'stopped') {
        expect(outputs.at(-1)).toMatchObject({
          type: 'stopped',
          reason: expect.stringMatching(/^P2PSP_ERR_HELLO_TIMEOUT/),
        });
      }
    }
    expect(hellos).toBe(3);
    expect(core.state).toBe('stopped');
  });
});

describe('PeerCore relays (rules 2, 3)', () => {
  it('relays a source chunk to every member, paced over the time to the next source chunk', () => {
    // 4 neighbours, interval 10 ms: the next source chunk is expected ~5 intervals later
    // (B = 64: the spread cap, B/4 = 16 intervals, does not bind).
    const { core } = joinedPeer({}, { bufferSize: 64 });
    const datagram = chunk(0);
    core.handle({ type: 'datagram', from: SOURCE, bytes: datagram }, 100);
    const times: number[] = [];
    const relayed: Endpoint[] = [];
    const record = (time: number) => {
      for (const output of drainOutputs(core)) {
        if (output.type === 'send-datagram') {
          expect(output.bytes).toBe(datagram); // relayed byte for byte
          times.push(time);
          relayed.push(output.to);
        }
      }
    };
    record(100);
    while (core.pollTimeout() !== undefined && core.pollTimeout()! < 200) {
      const time = core.pollTimeout()!;
      core.handleTimeout(time);
      record(time);
    }
    expect(relayed.map((to) => to.address).sort()).toEqual([
      '10.0.1.1',
      '10.0.1.2',
      '10.0.1.3',
      '10.0.1.4',
    ]);
    // Spread over (4 + 1) x 10 ms, one every 12.5 ms.
    expect(times).toEqual([100, 112.5, 125, 137.5]);
    expect(core.stats()).toMatchObject({ chunksRelayed: 4, chunksBurst: 0, chunksFromSource: 1 });
  });

  it('sends the rest in a burst when the next source chunk arrives first', () => {
    const { core } = joinedPeer();
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(0) }, 100);
    expect(sent(drainOutputs(core))).toHaveLength(1);
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(5) }, 101);
    const outputs = sent(drainOutputs(core));
    // Three relays of chunk 0 at once, then the first of chunk 5.
    expect(
      outputs.map(({ message }) => (message.type === 'chunk' ? message.chunkNumber : -1)),
    ).toEqual([0, 0, 0, 5]);
    expect(core.stats()).toMatchObject({ chunksBurst: 3, chunksRelayed: 5 });
  });

  it('does not relay chunks that came from peers, nor duplicates', () => {
    const { core } = joinedPeer();
    core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(0, 1) }, 100);
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunk(0, 1) }, 101);
    expect(sent(drainOutputs(core))).toEqual([]);
    expect(core.stats()).toMatchObject({
      chunksFromPeers: 2,
      chunksDuplicated: 1,
      chunksRelayed: 0,
    });
  });

  it('relays to a joiner only once the source introduces it, then catches it up', () => {
    const { core } = joinedPeer(
      { helloAttempts: 3, helloRetryMillis: 100 },
      { members: [member(ME), member(1)] },
    );
    for (const number of [0, 1, 2]) {
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(number) }, number * 100);
      core.handleTimeout(number * 100 + 99);
    }
    drainOutputs(core);
    const joiner = { address: '10.0.9.9', port: 7000 };
    const toJoiner = (outputs: CoreOutput[]) =>
      sent(outputs)
        .filter(({ to }) => to.address === joiner.address)
        .map(({ message }) => message);
    core.handle(
      {
        type: 'datagram',
        from: joiner,
        bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 1 }),
      },
      300,
    );
    // No answer, no challenge, no chunk: the source never named it.
    expect(toJoiner(drainOutputs(core))).toEqual([]);
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(3) }, 310);
    core.handleTimeout(400);
    expect(toJoiner(drainOutputs(core))).toEqual([]);
    // The source introduces it: it gets the last two source chunks relayed (chunk 3's relay
    // job is over: it is one of them) and our hello.
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram(peerListReplies([{ ...member(9), endpoint: joiner }])[0]!),
      },
      410,
    );
    core.handleTimeout(500);
    expect(
      toJoiner(drainOutputs(core)).map((message) =>
        message.type === 'chunk' ? message.chunkNumber : message.type,
      ),
    ).toEqual([2, 3, 'hello']);
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 9)?.verified).toBe(true);
  });

  it('never sends relays to a spoofed hello, and forgets it when it does not answer', () => {
    const { core } = joinedPeer(
      { helloAttempts: 3, helloRetryMillis: 100, debtThreshold: 1000 },
      { members: [member(ME), member(1)] },
    );
    const victim = { address: '192.0.2.7', port: 80 };
    core.handle(
      {
        type: 'datagram',
        from: victim,
        bytes: encodeDatagram({ type: 'hello', memberId: 77, nonce: 1 }),
      },
      0,
    );
    let toVictim = 0;
    for (let time = 0; time < 2_000; time += 50) {
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(time / 50) }, time);
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time + 49)
        core.handleTimeout(core.pollTimeout()!);
      for (const { to, message } of sent(drainOutputs(core))) {
        if (to.address === victim.address) {
          expect(message.type).not.toBe('chunk');
          toVictim++;
        }
      }
    }
    // One hello-ack and three hellos at most, then it is forgotten.
    expect(toVictim).toBeLessThanOrEqual(4);
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1]);
  });

  it('drops a neighbour whose debt passes the threshold (rule 7)', () => {
    const { core } = joinedPeer(
      { debtThreshold: 3 },
      { members: [member(ME), member(1), member(2)] },
    );
    let time = 100;
    for (let number = 0; number < 5; number++) {
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(2 * number) }, time);
      // Member 1 gives back, member 2 never does.
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(2 * number + 1, 1) }, time);
      time += 100;
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time)
        core.handleTimeout(core.pollTimeout()!);
    }
    const outputs = drainOutputs(core);
    const drop = outputs.find(
      (output) => output.type === 'event' && output.event.name === 'neighbour-drop',
    );
    expect(drop).toMatchObject({ event: { fields: { memberId: 2, debt: 4, threshold: 3 } } });
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1]);
    expect(core.stats().neighboursDropped).toBe(1);
  });

  it('relays an LRS-recovered chunk to everybody at once, even when too late to play', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 2 });
    for (let number = 0; number < 6; number++) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, number);
    }
    drainOutputs(core);
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: chunk(1, 1, { nonExclusive: false, recovered: true }),
      },
      10,
    );
    const outputs = sent(drainOutputs(core));
    expect(outputs.filter(({ message }) => message.type === 'chunk')).toHaveLength(4);
  });
});

describe('PeerCore play-out (rule 5)', () => {
  it('plays 500 ms behind by default: chunks from the accept interval, within [8, B/2]; monitors 3/4', () => {
    const delayOf = (
      config: Partial<PeerConfig>,
      overrides: Partial<JoinAccept>,
    ): number | undefined => {
      const { outputs } = joinedPeer(config, overrides);
      const accepted = outputs.find(
        (output) => output.type === 'event' && output.event.name === 'join-accept',
      );
      if (accepted?.type !== 'event' || accepted.event.name !== 'join-accept') {
        throw new Error('no join-accept event');
      }
      return accepted.event.fields.playoutDelayChunks;
    };
    // 128 kbit/s with 1,024-byte chunks: 64 ms per chunk, 500 ms = 7.8 -> 8 chunks, where
    // B/2 was 16 at B = 32 and 64 at B = 128.
    expect(delayOf({}, { bufferSize: 32, chunkIntervalMicros: 64_000 })).toBe(8);
    expect(delayOf({}, { bufferSize: 128, chunkIntervalMicros: 64_000 })).toBe(8);
    // A faster stream: 10 ms chunks, 50 of them, capped at B/2.
    expect(delayOf({}, { bufferSize: 256, chunkIntervalMicros: 10_000 })).toBe(50);
    expect(delayOf({}, { bufferSize: 64, chunkIntervalMicros: 10_000 })).toBe(32);
    // A slow stream: 500 ms is 2 chunks of 256 ms, raised to the minimum that keeps the
    // relay spread and repair working.
    expect(delayOf({}, { bufferSize: 64, chunkIntervalMicros: 256_000 })).toBe(
      PLAYOUT_DELAY_MIN_CHUNKS,
    );
    // ... but never above B/2 (a tiny buffer).
    expect(delayOf({}, { bufferSize: 8, chunkIntervalMicros: 256_000 })).toBe(4);
    expect(
      delayOf({ playoutDelayMillis: 1000 }, { bufferSize: 64, chunkIntervalMicros: 64_000 }),
    ).toBe(16);
    // Monitors keep playing earlier than the peers (LRS): 3/4 with repair, 1/2 without.
    const monitorAccept = {
      bufferSize: 128,
      chunkIntervalMicros: 10_000,
      members: [member(ME, true), member(1)],
    };
    expect(delayOf({}, monitorAccept)).toBe(37);
    expect(delayOf({ repair: false }, monitorAccept)).toBe(25);
    // An exact number of chunks is taken as is, for every role.
    expect(delayOf({ playoutDelayChunks: 40 }, monitorAccept)).toBe(40);
  });

  it('shortens the delay before playing when chunks come slower than the accept announced', () => {
    // The source had not measured its ingest yet: it announced its initial 20 ms estimate,
    // so 500 ms read as 25 chunks; the stream really has a chunk every 64 ms (8 chunks).
    const { core, outputs } = joinedPeer({}, { bufferSize: 128, chunkIntervalMicros: 20_000 });
    expect(outputs).toContainEqual(
      expect.objectContaining({
        event: expect.objectContaining({
          name: 'join-accept',
          fields: expect.objectContaining({ playoutDelayChunks: 25 }),
        }),
      }),
    );
    const played: number[] = [];
    let adjust: CoreOutput | undefined;
    for (let number = 0; number <= 12; number++) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, number * 64);
      for (const output of drainOutputs(core)) {
        if (output.type === 'play' && output.payload !== null) played.push(output.chunkNumber);
        if (output.type === 'event' && output.event.name === 'config-adjust') adjust = output;
      }
    }
    expect(adjust).toMatchObject({
      event: { fields: { option: 'playoutDelayMillis', used: 8, previous: 25 } },
    });
    // Chunk k plays once k + 8 arrived: 0-4 by chunk 12, not before chunk 25.
    expect(played).toEqual([0, 1, 2, 3, 4]);
  });

  it('playoutDelayFor: the same rule as a function (the simulator checks runs with it)', () => {
    const base = {
      bufferSize: 150,
      chunkIntervalMillis: 64,
      monitor: false,
      repair: true,
      playoutDelayMillis: PEER_DEFAULTS.playoutDelayMillis,
      playoutDelayChunks: null,
    };
    expect(playoutDelayFor(base)).toEqual({ chunks: 8, peerChunks: 8, requestedChunks: null });
    expect(playoutDelayFor({ ...base, monitor: true })).toEqual({
      chunks: 6,
      peerChunks: 8,
      requestedChunks: null,
    });
    expect(playoutDelayFor({ ...base, playoutDelayChunks: 200 })).toEqual({
      chunks: 149,
      peerChunks: 149,
      requestedChunks: 200,
    });
  });

  it('plays in order once the delay is buffered, a missing chunk as null, across the 32-bit wrap', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 3 }, { nextChunkNumber: 0xffff_fffd });
    const first = 0xffff_fffd;
    const numbers = [0, 1, 2, 4, 5, 6, 7, 8].map((offset) => (first + offset) >>> 0); // 3 is lost
    const plays: { chunkNumber: number; payload: Uint8Array | null }[] = [];
    // Each arrives on the source's schedule (10 ms chunks from the accept's next number).
    numbers.forEach((chunkNumber) => {
      core.handle(
        { type: 'datagram', from: fromMember(1), bytes: chunk(chunkNumber, 1) },
        ((chunkNumber - first) >>> 0) * 10,
      );
      for (const output of drainOutputs(core)) if (output.type === 'play') plays.push(output);
    });
    // Newest is first + 8: everything up to first + 5 is due.
    expect(plays.map((play) => play.chunkNumber)).toEqual([
      0xffff_fffd, 0xffff_fffe, 0xffff_ffff, 0, 1, 2,
    ]);
    expect(plays.map((play) => play.payload === null)).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(plays[4]?.payload).toEqual(Uint8Array.of(1, 1, 2, 3));
    expect(core.stats()).toMatchObject({ chunksPlayed: 5, chunksLost: 1, playChunkNumber: 3 });
  });

  it('starts at the chunk the accept names: older ones were relayed before it was known', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 2 }, { nextChunkNumber: 100 });
    for (const number of [97, 98, 99, 100, 101, 102]) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, number);
    }
    const plays = drainOutputs(core).filter((output) => output.type === 'play');
    expect(plays.map((play) => play.type === 'play' && play.chunkNumber)).toEqual([100]);
    expect(core.stats()).toMatchObject({ chunksBeforeJoin: 3, chunksLost: 0 });
  });

  it('drops chunks outside the window and oversized ones', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 2 });
    for (let number = 10; number < 14; number++) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, number * 10);
    }
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunk(3, 2) }, 200); // too old
    // Beyond the window (B = 8 from 12) though on the source's schedule.
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunk(21, 2) }, 200);
    const big = encodeDatagram({
      type: 'chunk',
      chunkNumber: 14,
      origin: 2,
      flags: PLAIN,
      payload: new Uint8Array(17),
      signature: new Uint8Array(0),
    });
    core.handle({ type: 'datagram', from: fromMember(2), bytes: big }, 200);
    expect(core.stats().datagramsDropped).toMatchObject({
      'out-of-window': 2,
      'oversized-chunk': 1,
    });
    expect(core.stats().playChunkNumber).toBe(12);
  });

  it('plays out the buffer after the source says the stream ended', () => {
    const { core } = joinedPeer({ playoutDelayChunks: 4, drainMillis: 50 });
    for (let number = 0; number < 6; number++) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, number * 10);
    }
    drainOutputs(core);
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'goodbye', memberId: 0, reason: 'stream-end' }),
      },
      60,
    );
    expect(core.state).toBe('draining');
    expect(core.pollTimeout()).toBe(110);
    core.handleTimeout(110);
    const outputs = drainOutputs(core);
    expect(
      outputs
        .filter((output) => output.type === 'play')
        .map((output) => output.type === 'play' && output.chunkNumber),
    ).toEqual([2, 3, 4, 5]);
    expect(outputs.at(-1)).toEqual({ type: 'stopped', reason: 'stream-end' });
  });
});

describe('PeerCore membership and bad input', () => {
  it('learns neighbours from the source only: a stranger gets nothing, its hellos and chunks are dropped', () => {
    const { core } = joinedPeer({}, { members: [member(ME)] });
    const stranger = { address: '10.0.9.9', port: 7000 };
    core.handle(
      {
        type: 'datagram',
        from: stranger,
        bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 33 }),
      },
      1,
    );
    expect(sent(drainOutputs(core))).toEqual([]);
    const relayer = { address: '10.0.9.10', port: 7000 };
    core.handle({ type: 'datagram', from: relayer, bytes: chunk(0, 10) }, 2);
    core.handle({ type: 'datagram', from: relayer, bytes: chunk(1, 10) }, 3);
    // Nothing to it; the source is asked for its list once (an introduction may be lost).
    expect(sent(drainOutputs(core))).toEqual([
      { to: SOURCE, message: { type: 'peer-list-request', memberId: ME } },
    ]);
    expect(core.neighbours()).toEqual([]);
    expect(core.stats()).toMatchObject({
      unlistedPeerListRequests: 1,
      chunksFromPeers: 0,
      bufferFill: 0,
      datagramsDropped: { unlisted: 3 },
    });
    // A hello claiming us or nobody is a bad origin.
    for (const memberId of [ME, 0]) {
      core.handle(
        {
          type: 'datagram',
          from: stranger,
          bytes: encodeDatagram({ type: 'hello', memberId, nonce: 1 }),
        },
        3,
      );
    }
    expect(sent(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped['bad-origin']).toBe(2);
    // Other messages from strangers are dropped.
    const other = { address: '10.0.9.11', port: 7000 };
    core.handle(
      {
        type: 'datagram',
        from: other,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 1, nonce: 0 }),
      },
      4,
    );
    core.handle({ type: 'datagram', from: other, bytes: Uint8Array.of(1, 2, 3) }, 4);
    expect(core.stats().datagramsDropped).toMatchObject({ 'non-member': 1, malformed: 1 });
    expect(core.stats().neighbours).toBe(0);
  });

  it('drops a neighbour silent for 2B chunk times without the source saying so, externals exempt (rule 6)', () => {
    // B = 8: 2B = 16 chunk times, of 256 ms: 4,096 ms, the least silence that drops. Member
    // 1 relays, member 2 vanishes after chunk 3, member 3 is external (seed 000: fed, never
    // relays) and member 4 never sends anything (never heard, its debt is what counts: rule 7).
    const { core } = joinedPeer(
      { debtThreshold: 1000 },
      {
        chunkIntervalMicros: 256_000,
        members: [
          member(ME),
          member(1),
          member(2),
          { ...member(3), flags: { monitor: false, external: true, liberated: false } },
          member(4),
        ],
      },
    );
    const silentDrops = (outputs: CoreOutput[]) =>
      outputs.flatMap((output) =>
        output.type === 'event' &&
        output.event.name === 'neighbour-drop' &&
        output.event.fields.reason === 'silent'
          ? [output.event.fields.memberId]
          : [],
      );
    const dropped: unknown[] = [];
    let time = 0;
    for (let number = 0; number < 40; number += 2) {
      time += 128;
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(number) }, time);
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number + 1, 1) }, time);
      if (number < 4) {
        core.handle({ type: 'datagram', from: fromMember(2), bytes: chunk(number + 1, 2) }, time);
      }
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time)
        core.handleTimeout(core.pollTimeout()!);
      const outputs = drainOutputs(core);
      dropped.push(...silentDrops(outputs).map((memberId) => [memberId, number]));
    }
    // Member 2 (last heard with chunk 3) 16 chunk times later; the others stay.
    expect(dropped).toEqual([[2, 18]]);
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1, 3, 4]);
    expect(core.stats().neighboursSilent).toBe(1);
    // A stalled stream is nobody's silence: no chunk arrives, so no clock advances.
    for (let tick = 0; tick < 20; tick++) {
      time += 1000;
      while ((core.pollTimeout() ?? Number.POSITIVE_INFINITY) <= time)
        core.handleTimeout(core.pollTimeout()!);
    }
    expect(silentDrops(drainOutputs(core))).toEqual([]);
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1, 3, 4]);
  });

  it('forgives a neighbour 2B chunk times of silence shorter than 4 s of stream (rule 6)', () => {
    // 10 ms chunks: 2B = 16 chunk times are 160 ms; a member short of upload, fed little by
    // ACS, may relay that rarely. Dropped only after 4,096 ms: 410 chunk times.
    const { core } = joinedPeer(
      { debtThreshold: 1000 },
      { members: [member(ME), member(1), member(2)] },
    );
    const drops: unknown[] = [];
    for (let number = 0; number < 400; number += 2) {
      core.handle({ type: 'datagram', from: SOURCE, bytes: chunk(number) }, number * 10);
      core.handle(
        { type: 'datagram', from: fromMember(1), bytes: chunk(number + 1, 1) },
        number * 10,
      );
      if (number < 4) {
        core.handle(
          { type: 'datagram', from: fromMember(2), bytes: chunk(number + 1, 2) },
          number * 10,
        );
      }
      for (const output of drainOutputs(core)) {
        if (output.type === 'event' && output.event.name === 'neighbour-drop') drops.push(output);
      }
    }
    expect(drops).toEqual([]);
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1, 2]);
  });

  it('drops a member on its goodbye, and one the source removes', () => {
    const { core } = joinedPeer();
    core.handle(
      {
        type: 'datagram',
        from: fromMember(2),
        bytes: encodeDatagram({ type: 'goodbye', memberId: 3, reason: 'leaving' }),
      },
      1,
    );
    expect(core.stats().neighbours).toBe(4);
    core.handle(
      {
        type: 'datagram',
        from: fromMember(2),
        bytes: encodeDatagram({ type: 'goodbye', memberId: 2, reason: 'leaving' }),
      },
      1,
    );
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'goodbye', memberId: 3, reason: 'expelled' }),
      },
      1,
    );
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1, 4]);
    // A relay of a departed member arriving late (UDP reorders) does not bring it back.
    // (The bad-origin drop is the goodbye for member 3 sent by member 2.)
    core.handle({ type: 'datagram', from: fromMember(2), bytes: chunk(0, 2) }, 2);
    expect(core.neighbours().map((neighbour) => neighbour.memberId)).toEqual([1, 4]);
    expect(core.stats().datagramsDropped).toMatchObject({ 'bad-origin': 1, unlisted: 1 });
  });

  it('says goodbye to the source and every member on stop', () => {
    const { core } = joinedPeer();
    core.handle({ type: 'stop' }, 5);
    const outputs = drainOutputs(core);
    // Three copies to each: a goodbye is one unacknowledged datagram.
    expect(sent(outputs).map(({ to, message }) => [to.address, message])).toEqual(
      ['10.0.0.1', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'].flatMap((address) =>
        Array.from({ length: 3 }, () => [
          address,
          { type: 'goodbye', memberId: ME, reason: 'leaving' },
        ]),
      ),
    );
    expect(outputs.at(-1)).toEqual({ type: 'stopped', reason: 'stop' });
    expect(core.pollTimeout()).toBeUndefined();
  });

  it('stops when the source expels it', () => {
    const { core } = joinedPeer();
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'goodbye', memberId: ME, reason: 'expelled' }),
      },
      1,
    );
    expect(drainOutputs(core).at(-1)).toEqual({
      type: 'stopped',
      reason: 'removed by the source: expelled',
    });
  });

  it('plays out and stops when the source falls silent (P2PSP_ERR_SOURCE_SILENT)', () => {
    const { core } = joinedPeer({ sourceTimeoutMillis: 10_000, playoutDelayChunks: 4 });
    for (let number = 0; number < 6; number++) {
      core.handle({ type: 'datagram', from: fromMember(1), bytes: chunk(number, 1) }, 100 + number);
    }
    // A keepalive (hello-ack, nonce 0) at 8 s keeps it alive...
    core.handle(
      {
        type: 'datagram',
        from: SOURCE,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: ME, nonce: 0 }),
      },
      8_000,
    );
    expect(core.stats().datagramsDropped.unexpected).toBe(0);
    core.handleTimeout(10_000);
    expect(core.state).toBe('streaming');
    expect(core.pollTimeout()).toBeLessThanOrEqual(18_000);
    drainOutputs(core);
    // ...then nothing more: at 18 s the buffer is played out and the peer stops.
    core.handleTimeout(18_000);
    const outputs = drainOutputs(core);
    expect(outputs.filter((output) => output.type === 'play')).toHaveLength(4);
    expect(outputs.at(-1)).toMatchObject({
      type: 'stopped',
      reason: expect.stringMatching(/^P2PSP_ERR_SOURCE_SILENT/),
    });
  });

  it('reports its counters to the source periodically (a sign of life)', () => {
    const { core } = joinedPeer({ reportIntervalMillis: 1000 });
    core.handleTimeout(1000);
    const reports = sent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'stats-report',
    );
    expect(reports).toMatchObject([{ to: SOURCE, message: { memberId: ME, neighbours: 4 } }]);
  });
});
