import { generateSigner, sha256 } from '@p2psp/host';
import { concat, dataPacket, oggPage, opusHead, opusTags } from '@p2psp/media/testing';
import {
  chunkDigestCount,
  createRandom,
  decodeChunkDigest,
  drainOutputs,
  encodeDatagram,
  MAX_CHUNK_PAYLOAD_FOR_MTU,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { SourceConfigError } from './errors.js';
import type { StreamHeaderSplitter } from './source-config.js';
import { SourceCore } from './source-core.js';
import {
  createSource,
  datagramsSent,
  framesWritten,
  join,
  joinRequest,
  requestJoin,
  sendHello,
} from './source-core.test-helpers.js';

describe('SourceCore options', () => {
  it.each([
    [{ chunkSize: MAX_CHUNK_PAYLOAD_FOR_MTU + 1 }, 'P2PSP_ERR_CHUNK_SIZE', 'chunkSize'],
    [{ chunkSize: 63 }, 'P2PSP_ERR_CHUNK_SIZE', 'chunkSize'],
    [{ chunkSize: 100.5 }, 'P2PSP_ERR_CHUNK_SIZE', 'chunkSize'],
    [{ bufferSize: 1 }, 'P2PSP_ERR_CONFIG', 'bufferSize'],
    [{ maxMembers: 0 }, 'P2PSP_ERR_CONFIG', 'maxMembers'],
    [{ maxMembersPerAddress: 0 }, 'P2PSP_ERR_CONFIG', 'maxMembersPerAddress'],
    [{ maxJoinsPerAddress: 1.5 }, 'P2PSP_ERR_CONFIG', 'maxJoinsPerAddress'],
    [{ joinsPerSecond: 0 }, 'P2PSP_ERR_CONFIG', 'joinsPerSecond'],
    [{ joinTimeoutMillis: 0 }, 'P2PSP_ERR_CONFIG', 'joinTimeoutMillis'],
    [{ monitorCredential: new Uint8Array(0) }, 'P2PSP_ERR_CONFIG', 'monitorCredential'],
    [{ random: undefined as never }, 'P2PSP_ERR_CONFIG', 'random'],
  ])('refuses %o with %s naming the option', (options, code, option) => {
    const build = () => new SourceCore({ random: createRandom(1), ...options });
    expect(build).toThrow(SourceConfigError);
    try {
      build();
    } catch (error) {
      expect((error as SourceConfigError).code).toBe(code);
      expect((error as SourceConfigError).option).toBe(option);
      expect((error as Error).message).toContain(option);
    }
  });

  it('runs LRS by default (free while monitors lose nothing), off with lostChunkRecovery: false', () => {
    expect(createSource().config.cluster.lostChunkRecovery).toBe(true);
    expect(
      createSource({ cluster: { lostChunkRecovery: false } }).config.cluster.lostChunkRecovery,
    ).toBe(false);
  });

  it('takes the largest chunk that fits the MTU, and defaults to 1,024', () => {
    expect(createSource({ chunkSize: MAX_CHUNK_PAYLOAD_FOR_MTU }).config.chunkSize).toBe(
      MAX_CHUNK_PAYLOAD_FOR_MTU,
    );
    expect(new SourceCore({ random: createRandom(1) }).config.chunkSize).toBe(1024);
  });
});

describe('SourceCore joins (rule 4)', () => {
  it('accepts over TCP, then feeds the member once its UDP hello arrives', () => {
    const core = createSource({
      mediaType: 'audio/ogg',
      header: { header: Uint8Array.of(1, 2, 3) },
    });
    const udp = { address: '10.0.0.5', port: 5000 };
    core.handle(
      { type: 'connection-open', connection: 1, remote: { address: '10.0.0.5', port: 40001 } },
      0,
    );
    core.handle({ type: 'connection-data', connection: 1, bytes: joinRequest() }, 1);
    const [accept] = framesWritten(drainOutputs(core), 1);
    expect(accept).toMatchObject({
      type: 'join-accept',
      memberId: 1,
      observedEndpoint: { address: '10.0.0.5', port: 40001 },
      chunkSize: 64,
      bufferSize: 8,
      monitorCount: 1,
      nextChunkNumber: 0,
      mediaType: 'audio/ogg',
      header: Uint8Array.of(1, 2, 3),
      // Its own entry first: the first joiner is the monitor.
      members: [{ memberId: 1, flags: { monitor: true, external: false, liberated: false } }],
    });
    // Not fed before the hello.
    expect(core.stats()).toMatchObject({ members: 0, fedMembers: 0 });
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 2);
    expect(core.stats()).toMatchObject({ chunksDropped: 1, chunksSent: 0 });
    drainOutputs(core);

    sendHello(core, udp, 1, 42, 3);
    const outputs = drainOutputs(core);
    expect(datagramsSent(outputs)).toEqual([
      { to: udp, message: { type: 'hello-ack', memberId: 1, nonce: 42 } },
    ]);
    expect(outputs).toContainEqual({ type: 'close', connection: 1, reason: 'joined' });
    expect(
      outputs.some((output) => output.type === 'event' && output.event.name === 'peer-join'),
    ).toBe(true);
    expect(core.members()).toMatchObject([{ memberId: 1, endpoint: udp, role: 'monitor' }]);

    // The next joiner's list carries the first member at its UDP endpoint.
    const second = join(core, 2, { address: '10.0.0.6', port: 5000 }, 4);
    expect(second.accept.members.map((member) => member.memberId)).toEqual([2, 1]);
    expect(second.accept.members[1]?.endpoint).toEqual(udp);
    expect(second.accept.monitorCount).toBe(1);
  });

  it('tells a member activated after an overlapping join about it (neither listed the other)', () => {
    const core = createSource();
    const a = { address: '10.0.0.1', port: 5000 };
    const b = { address: '10.0.0.2', port: 5000 };
    requestJoin(core, 1, { address: a.address, port: 1 }, 0);
    requestJoin(core, 2, { address: b.address, port: 2 }, 0);
    const accepts = drainOutputs(core);
    expect(framesWritten(accepts, 2)[0]).toMatchObject({ members: [{ memberId: 2 }] });
    sendHello(core, a, 1, 1, 1);
    expect(datagramsSent(drainOutputs(core)).map(({ message }) => message.type)).toEqual([
      'hello-ack',
    ]);
    sendHello(core, b, 2, 2, 2);
    // Each is told about the other, in three copies (a lost one would leave them apart for
    // good): b gets a's entry, and a (no NAT report: it may filter strangers) gets b's
    // introduction, so both sides hello at once.
    const missed = {
      to: b,
      message: { type: 'peer-list-reply', total: 1, members: [{ memberId: 1, endpoint: a }] },
    };
    const introduction = {
      to: a,
      message: { type: 'peer-list-reply', total: 1, members: [{ memberId: 2, endpoint: b }] },
    };
    expect(datagramsSent(drainOutputs(core))).toMatchObject([
      { to: b, message: { type: 'hello-ack', memberId: 2 } },
      missed,
      missed,
      missed,
      introduction,
      introduction,
      introduction,
    ]);
  });

  it('matches a hello to a join seen on a dual-stack socket (IPv4-mapped address)', () => {
    const core = createSource();
    requestJoin(core, 1, { address: '::ffff:10.0.0.5', port: 1 }, 0);
    drainOutputs(core);
    const udp = { address: '10.0.0.5', port: 5000 };
    sendHello(core, udp, 1, 1, 1);
    expect(core.members()).toMatchObject([{ memberId: 1, endpoint: udp }]);
  });

  it('does not take a joiner whose TCP port equals the UDP port of a member for that member', () => {
    const core = createSource();
    const first = { address: '10.0.0.5', port: 40002 };
    join(core, 1, first, 0);
    // Same host, and the second joiner's TCP connection comes from port 40002 too.
    requestJoin(core, 2, { address: '10.0.0.5', port: 40002 }, 1);
    const [accept] = framesWritten(drainOutputs(core), 2);
    expect(accept).toMatchObject({ type: 'join-accept', memberId: 2 });
    expect(core.members()).toMatchObject([{ memberId: 1, endpoint: first }]);
    expect(core.stats().membersLeft).toBe(0);
  });

  it('refuses a hello for a pending member id from another IP address', () => {
    const core = createSource();
    requestJoin(core, 1, { address: '10.0.0.5', port: 40001 }, 0);
    drainOutputs(core);
    const intruder = { address: '10.9.9.9', port: 5000 };
    sendHello(core, intruder, 1, 1, 1);
    expect(datagramsSent(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped['member-mismatch']).toBe(1);
    expect(core.stats().members).toBe(0);
  });

  it('refuses a monitor with a wrong credential, and takes the right one', () => {
    const core = createSource({ monitorCredential: Uint8Array.of(9, 9, 9) });
    core.handle(
      { type: 'connection-open', connection: 1, remote: { address: '10.0.0.5', port: 1 } },
      0,
    );
    core.handle(
      {
        type: 'connection-data',
        connection: 1,
        bytes: joinRequest({ role: 'monitor', credential: Uint8Array.of(9, 9, 8) }),
      },
      0,
    );
    const outputs = drainOutputs(core);
    expect(framesWritten(outputs, 1)).toMatchObject([
      { type: 'join-refused', reason: 'bad-credential' },
    ]);
    expect(outputs.at(-1)).toMatchObject({ type: 'close', connection: 1 });
    expect(core.stats().joinsRefused).toBe(1);

    core.handle(
      { type: 'connection-open', connection: 2, remote: { address: '10.0.0.5', port: 2 } },
      0,
    );
    core.handle(
      {
        type: 'connection-data',
        connection: 2,
        bytes: joinRequest({ role: 'monitor', credential: Uint8Array.of(9, 9, 9) }),
      },
      0,
    );
    expect(framesWritten(drainOutputs(core), 2)).toMatchObject([
      { type: 'join-accept', members: [{ flags: { monitor: true } }] },
    ]);
  });

  it('closes a connection that sends no join request within the timeout (P2PSP_ERR_JOIN_TIMEOUT)', () => {
    const core = createSource({ joinTimeoutMillis: 1000 });
    core.handle(
      { type: 'connection-open', connection: 3, remote: { address: '10.0.0.7', port: 1 } },
      100,
    );
    // Half a frame: a stalled join.
    core.handle(
      { type: 'connection-data', connection: 3, bytes: joinRequest().subarray(0, 5) },
      200,
    );
    expect(core.pollTimeout()).toBe(1100);
    core.handleTimeout(1099);
    expect(drainOutputs(core)).toEqual([]);
    core.handleTimeout(1100);
    const outputs = drainOutputs(core);
    expect(outputs).toContainEqual({ type: 'close', connection: 3, reason: 'join timeout' });
    expect(outputs).toContainEqual(
      expect.objectContaining({
        type: 'event',
        event: expect.objectContaining({ name: 'join-timeout' }),
      }),
    );
    expect(core.stats().joinsTimedOut).toBe(1);
    expect(core.pollTimeout()).toBeUndefined();
  });

  it('forgets an accepted joiner whose hello never comes', () => {
    const core = createSource({ joinTimeoutMillis: 500 });
    requestJoin(core, 1, { address: '10.0.0.5', port: 1 }, 0);
    core.handle({ type: 'connection-closed', connection: 1, reason: 'read the accept' }, 10);
    drainOutputs(core);
    core.handleTimeout(500);
    expect(core.stats()).toMatchObject({ joinsTimedOut: 1, members: 0, joining: 0 });
    expect(core.cluster.members.size).toBe(0);
    // A late hello is from a non-member now.
    core.handle(
      {
        type: 'datagram',
        from: { address: '10.0.0.5', port: 5000 },
        bytes: encodeDatagram({ type: 'hello', memberId: 1, nonce: 1 }),
      },
      600,
    );
    expect(core.stats().datagramsDropped['non-member']).toBe(1);
  });

  it('closes a connection that announces an oversized frame, and counts it', () => {
    const core = createSource({ maxFrameBytes: 4096 });
    core.handle(
      { type: 'connection-open', connection: 4, remote: { address: '10.0.0.8', port: 1 } },
      0,
    );
    core.handle(
      { type: 'connection-data', connection: 4, bytes: Uint8Array.of(0, 0x10, 0, 0, 1, 1) },
      0,
    );
    const outputs = drainOutputs(core);
    expect(outputs).toContainEqual(expect.objectContaining({ type: 'close', connection: 4 }));
    expect(core.stats().connectionsRejected).toBe(1);
    // Later bytes on it change nothing.
    core.handle({ type: 'connection-data', connection: 4, bytes: joinRequest() }, 1);
    expect(drainOutputs(core)).toEqual([]);
  });

  it('holds joins and chunks back until the stream header is captured', () => {
    // A splitter that takes the first 10 bytes as the header.
    let captured = new Uint8Array(0);
    const splitter: StreamHeaderSplitter = {
      get header() {
        return captured.length >= 10 ? captured.subarray(0, 10) : null;
      },
      push(bytes) {
        const need = 10 - captured.length;
        const joined = new Uint8Array(captured.length + Math.min(need, bytes.length));
        joined.set(captured);
        joined.set(bytes.subarray(0, need), captured.length);
        captured = joined;
        return bytes.subarray(Math.max(0, need));
      },
    };
    const core = createSource({ header: { splitter } });
    requestJoin(core, 1, { address: '10.0.0.5', port: 1 }, 0);
    expect(framesWritten(drainOutputs(core), 1)).toEqual([]);
    core.handle(
      { type: 'ingest-data', bytes: Uint8Array.from({ length: 6 }, (_, index) => index) },
      1,
    );
    expect(drainOutputs(core)).toEqual([]);
    core.handle(
      { type: 'ingest-data', bytes: Uint8Array.from({ length: 70 }, (_, index) => 6 + index) },
      2,
    );
    const outputs = drainOutputs(core);
    const [accept] = framesWritten(outputs, 1);
    expect(accept).toMatchObject({
      type: 'join-accept',
      header: Uint8Array.from({ length: 10 }, (_, index) => index),
    });
    // 66 media bytes after the header: one 64-byte chunk (dropped: nobody fed yet).
    expect(core.stats()).toMatchObject({ headerBytes: 10, chunksCut: 1, bytesIngested: 76 });
  });
});

describe('SourceCore stream header (rule 4)', () => {
  const serial = 0x5eed;
  const header = concat(
    oggPage({ serial, sequence: 0, flags: 0x02, packets: [opusHead()] }),
    oggPage({ serial, sequence: 1, packets: [opusTags()] }),
  );
  const media = oggPage({ serial, sequence: 2, granule: 960n, packets: [dataPacket(200)] });

  it('captures an Ogg header from untagged ingest bytes itself (HTTP, stdin, the simulator)', () => {
    const core = createSource({ header: { capture: 'ogg' } });
    requestJoin(core, 1, { address: '10.0.0.5', port: 1 }, 0);
    const stream = concat(header, media);
    core.handle({ type: 'ingest-data', bytes: stream.subarray(0, 50) }, 1);
    expect(framesWritten(drainOutputs(core), 1)).toEqual([]);
    core.handle({ type: 'ingest-data', bytes: stream.subarray(50) }, 2);
    expect(framesWritten(drainOutputs(core), 1)).toMatchObject([{ type: 'join-accept', header }]);
    expect(core.stats()).toMatchObject({ headerBytes: header.length, chunksCut: 3 });
  });

  it("takes the header the ingest tagged as it is, without searching it (a file's pacer)", () => {
    const core = createSource({ header: { capture: 'ogg' } });
    requestJoin(core, 1, { address: '10.0.0.5', port: 1 }, 0);
    // Not Ogg at all: only the tags say what the header is.
    const tagged = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)];
    for (const bytes of tagged) core.handle({ type: 'ingest-data', bytes, role: 'header' }, 1);
    expect(core.header()).toBeNull();
    expect(framesWritten(drainOutputs(core), 1)).toEqual([]);
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64).fill(9), role: 'media' }, 2);
    const outputs = drainOutputs(core);
    expect(framesWritten(outputs, 1)).toMatchObject([
      { type: 'join-accept', header: Uint8Array.of(1, 2, 3, 4, 5) },
    ]);
    expect(outputs).toContainEqual({
      type: 'event',
      event: { name: 'header-capture', level: 'info', fields: { bytes: 5 } },
    });
    // Header pieces after the header (a chained stream) are chunk data, as any media.
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64).fill(7), role: 'header' }, 3);
    expect(core.stats()).toMatchObject({ headerBytes: 5, chunksCut: 2, bytesIngested: 133 });
  });

  it('has no header to wait for when the kind has none (MP3 tags no header piece)', () => {
    const core = createSource({ header: { capture: 'mp3' } });
    expect(core.header()).toBeNull();
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64), role: 'media' }, 0);
    expect(core.header()).toEqual(new Uint8Array(0));
    expect(createSource({ header: { capture: 'unknown' } }).header()).toEqual(new Uint8Array(0));
  });
});

describe('SourceCore chunks (rules 1, 6)', () => {
  it('sends chunk n to the next member, round robin, remembering the last B destinations', () => {
    const core = createSource();
    const endpoints = [1, 2, 3].map((index) => ({ address: `10.0.0.${index}`, port: 5000 }));
    for (const [index, udp] of endpoints.entries()) join(core, index + 1, udp, 0);
    const stream = Uint8Array.from({ length: 64 * 9 }, (_, index) => index % 251);
    core.handle({ type: 'ingest-data', bytes: stream }, 10);
    const chunks = datagramsSent(drainOutputs(core));
    expect(chunks.map(({ to }) => to.address)).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
    ]);
    chunks.forEach(({ message }, index) => {
      expect(message).toMatchObject({ type: 'chunk', chunkNumber: index, origin: (index % 3) + 1 });
      if (message.type === 'chunk') {
        expect(message.payload).toEqual(stream.subarray(index * 64, index * 64 + 64));
      }
    });
    // B = 8: chunk 8..1 remembered, chunk 0's slot reused by chunk 8.
    expect(core.destinationOf(8)).toBe(3);
    expect(core.destinationOf(1)).toBe(2);
    expect(core.destinationOf(0)).toBeUndefined();
    expect(core.members().map((member) => member.chunksSent)).toEqual([3, 3, 3]);
  });

  it('drops chunks while nobody is fed: a live stream does not wait', () => {
    const core = createSource();
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64 * 3) }, 0);
    expect(core.stats()).toMatchObject({ chunksCut: 3, chunksDropped: 3, nextChunkNumber: 3 });
    join(core, 1, { address: '10.0.0.1', port: 5000 }, 1);
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 2);
    expect(datagramsSent(drainOutputs(core))).toMatchObject([
      { message: { type: 'chunk', chunkNumber: 3 } },
    ]);
  });

  it('removes a member on its goodbye, and only from its own endpoint', () => {
    const core = createSource();
    const first = { address: '10.0.0.1', port: 5000 };
    join(core, 1, first, 0);
    join(core, 2, { address: '10.0.0.2', port: 5000 }, 0);
    const goodbye = encodeDatagram({ type: 'goodbye', memberId: 1, reason: 'leaving' });
    core.handle({ type: 'datagram', from: { address: '10.0.0.2', port: 5000 }, bytes: goodbye }, 1);
    expect(core.stats()).toMatchObject({ members: 2 });
    expect(core.stats().datagramsDropped['member-mismatch']).toBe(1);
    core.handle({ type: 'datagram', from: first, bytes: goodbye }, 2);
    expect(core.stats()).toMatchObject({ members: 1, membersLeft: 1 });
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(128) }, 3);
    expect(datagramsSent(drainOutputs(core)).map(({ to }) => to.address)).toEqual([
      '10.0.0.2',
      '10.0.0.2',
    ]);
  });

  it('flushes the partial last chunk at ingest end, says goodbye to all, and stops', () => {
    const core = createSource();
    join(core, 1, { address: '10.0.0.1', port: 5000 }, 0);
    join(core, 2, { address: '10.0.0.2', port: 5000 }, 0);
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64 + 10) }, 1);
    core.handle({ type: 'ingest-end', reason: 'end of file' }, 2);
    const outputs = drainOutputs(core);
    expect(datagramsSent(outputs).map(({ message }) => message)).toMatchObject([
      { type: 'chunk', chunkNumber: 0 },
      { type: 'chunk', chunkNumber: 1, payload: new Uint8Array(10) },
      // Three copies of each goodbye: a lost one would leave a peer waiting.
      ...Array.from({ length: 6 }, () => ({
        type: 'goodbye',
        memberId: 0,
        reason: 'stream-end',
      })),
    ]);
    expect(outputs.at(-1)).toEqual({ type: 'stopped', reason: 'stream-end' });
    // Stopped: everything after is ignored or counted.
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 3);
    core.handle(
      { type: 'datagram', from: { address: '10.0.0.1', port: 5000 }, bytes: Uint8Array.of(1) },
      3,
    );
    expect(drainOutputs(core)).toHaveLength(1); // the first 'stopped' drop report
    expect(core.stats().datagramsDropped.stopped).toBe(1);
  });

  it('signs the open run with an empty last chunk when the stream ends on a chunk boundary', () => {
    const core = createSource({ signer: generateSigner(), sha256, digestChunks: 4 });
    join(core, 1, { address: '10.0.0.1', port: 5000 }, 0);
    // Five whole chunks: a run of four, signed on its last, then one chunk left unsigned.
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(5 * 64) }, 1);
    core.handle({ type: 'ingest-end', reason: 'end of file' }, 2);
    const chunks = datagramsSent(drainOutputs(core)).flatMap(({ message }) =>
      message.type === 'chunk' ? [message] : [],
    );
    expect(chunks.map((chunk) => [chunk.chunkNumber, chunk.payload.length])).toEqual([
      [0, 64],
      [1, 64],
      [2, 64],
      [3, 64],
      [4, 64],
      [5, 0],
    ]);
    expect(chunks.map((chunk) => chunk.signature.length > 0)).toEqual([
      false,
      false,
      false,
      true,
      false,
      true,
    ]);
    const digest = decodeChunkDigest(chunks[5]!.signature);
    if (!digest.ok) throw new Error(digest.error.detail);
    expect([digest.message.firstChunkNumber, chunkDigestCount(digest.message)]).toEqual([4, 2]);
  });

  it('says goodbye (leaving) on stop and closes joins in progress', () => {
    const core = createSource();
    join(core, 1, { address: '10.0.0.1', port: 5000 }, 0);
    core.handle(
      { type: 'connection-open', connection: 9, remote: { address: '10.0.0.9', port: 1 } },
      0,
    );
    core.handle({ type: 'stop' }, 1);
    const outputs = drainOutputs(core);
    expect(datagramsSent(outputs).map(({ message }) => message)).toEqual(
      Array.from({ length: 3 }, () => ({ type: 'goodbye', memberId: 0, reason: 'leaving' })),
    );
    expect(outputs).toContainEqual({ type: 'close', connection: 9, reason: 'source stopped' });
    expect(outputs.at(-1)).toEqual({ type: 'stopped', reason: 'stop' });
  });

  it('estimates the chunk interval from the ingest rate and announces it', () => {
    const core = createSource({ chunkSize: 1000, initialChunkIntervalMillis: 20 });
    expect(core.chunkIntervalMillis()).toBe(20);
    // 500 bytes every 10 ms = 50 bytes/ms: a 1,000-byte chunk every 20 ms... then faster.
    for (let time = 0; time <= 1000; time += 10) {
      core.handle({ type: 'ingest-data', bytes: new Uint8Array(1000) }, time);
    }
    expect(core.chunkIntervalMillis()).toBeCloseTo(10, 5);
    const { accept } = join(core, 1, { address: '10.0.0.1', port: 5000 }, 1000);
    expect(accept.chunkIntervalMicros).toBe(10_000);
  });

  it('sends a keepalive to members it sent nothing to for a period', () => {
    const core = createSource({ keepaliveMillis: 5000 });
    const first = { address: '10.0.0.1', port: 5000 };
    const second = { address: '10.0.0.2', port: 5000 };
    join(core, 1, first, 0);
    join(core, 2, second, 0);
    // Both were just sent their hello-ack: nothing to add in the first round.
    expect(core.pollTimeout()).toBe(5000);
    core.handleTimeout(5000);
    expect(datagramsSent(drainOutputs(core))).toEqual([]);
    // One chunk, to member 1: only member 2 needs a keepalive in the next round.
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 6000);
    drainOutputs(core);
    core.handleTimeout(10_000);
    expect(datagramsSent(drainOutputs(core))).toEqual([
      { to: second, message: { type: 'hello-ack', memberId: 2, nonce: 0 } },
    ]);
    core.handleTimeout(15_000);
    expect(datagramsSent(drainOutputs(core)).map(({ to }) => to)).toEqual([first, second]);
  });

  it('counts malformed and foreign datagrams and reports each reason once', () => {
    const core = createSource();
    join(core, 1, { address: '10.0.0.1', port: 5000 }, 0);
    const stranger = { address: '192.0.2.1', port: 9 };
    for (let index = 0; index < 20; index++) {
      core.handle({ type: 'datagram', from: stranger, bytes: Uint8Array.of(index, 2, 3) }, 1);
      core.handle(
        {
          type: 'datagram',
          from: stranger,
          bytes: encodeDatagram({ type: 'peer-list-request', memberId: 1 }),
        },
        1,
      );
    }
    const member = { address: '10.0.0.1', port: 5000 };
    core.handle(
      {
        type: 'datagram',
        from: member,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 1, nonce: 0 }),
      },
      1,
    );
    const drops = core.stats().datagramsDropped;
    expect(drops).toMatchObject({ malformed: 20, 'non-member': 20, unexpected: 1 });
    const reports = drainOutputs(core).filter(
      (output) => output.type === 'event' && output.event.name === 'datagram-drop',
    );
    expect(reports).toHaveLength(3);
    expect(core.stats().members).toBe(1);
  });
});
