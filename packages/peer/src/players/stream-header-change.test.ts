import { ascii, oggPage, opusHead, opusTags } from '@p2psp/media/testing';
import { describe, expect, it } from 'vitest';
import { createSyncPointFinder } from '../node/media.js';
import { PlayerFanOut } from './player-fan-out.js';
import { startPlayerServer } from './player-server.js';
import { openPlayer, serversClosedAfterEach, until } from './players.test-helpers.js';
import { createStreamHeaderWatcher } from './stream-header-watcher.js';

// Regression: after the source's Icecast ingest reconnected, the Ogg mount went on as a new
// logical stream (new serial numbers and header pages, sent as data), but players that
// connected afterwards got the header given on join and could not decode.

/** An Ogg/Opus logical stream: OpusHead (BOS) and OpusTags pages, then `pages` data pages. */
function opusStream(serial: number, pages: number) {
  const header = Uint8Array.from(
    Buffer.concat([
      oggPage({ serial, sequence: 0, flags: 0x02, packets: [opusHead()] }),
      oggPage({ serial, sequence: 1, packets: [opusTags()] }),
    ]),
  );
  const data = Array.from({ length: pages }, (_, index) =>
    oggPage({
      serial,
      sequence: 2 + index,
      granule: BigInt((2 + index) * 960),
      packets: [new Uint8Array(100).fill(index + 1)],
    }),
  );
  return { header, data };
}

/** Cuts bytes into pieces of `size` (a peer plays chunks that ignore page boundaries). */
function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    pieces.push(bytes.subarray(offset, offset + size));
  }
  return pieces;
}

describe('createStreamHeaderWatcher', () => {
  const first = opusStream(0x1111, 3);
  const second = opusStream(0x2222, 3);
  const stream = Buffer.concat([...first.data, second.header, ...second.data]);

  it.each([1, 7, 64, 1000])('finds a new Ogg stream header in %i-byte chunks', (size) => {
    const watcher = createStreamHeaderWatcher('audio/ogg');
    const found = chunks(stream, size).flatMap((chunk) => watcher?.push(chunk) ?? []);
    expect(found).toEqual([second.header]);
  });

  it('ignores a chance BOS capture pattern in media data (bad CRC)', () => {
    const watcher = createStreamHeaderWatcher('audio/ogg; codecs=opus')!;
    const fake = Uint8Array.of(...ascii('OggS'), 0, 0x02, ...new Uint8Array(40).fill(9));
    expect(watcher.push(fake)).toBeNull();
    expect(watcher.push(Buffer.concat([...first.data]))).toBeNull();
    expect(watcher.push(Buffer.concat([second.header, second.data[0]!]))).toEqual(second.header);
  });

  it('abandons a header cut by a lost chunk, and finds the next one', () => {
    const watcher = createStreamHeaderWatcher('audio/ogg')!;
    expect(watcher.push(second.header.subarray(0, 30))).toBeNull();
    watcher.reset();
    expect(watcher.push(second.header.subarray(30))).toBeNull();
    expect(watcher.push(Buffer.concat([...second.data]))).toBeNull();
    const third = opusStream(0x3333, 1);
    expect(watcher.push(Buffer.concat([third.header, ...third.data]))).toEqual(third.header);
  });

  it('finds a new WebM init segment (EBML header up to the first Cluster)', () => {
    // id bytes + a one-byte size (0x80 | size, RFC 8794 section 4) + body.
    const element = (id: number[], body: number[]) => [...id, 0x80 | body.length, ...body];
    const cluster = (timestamp: number) =>
      element([0x1f, 0x43, 0xb6, 0x75], [...element([0xe7], [timestamp]), 0xa3, 0x81, 1]);
    const initSegment = (docType: string) => [
      ...element([0x1a, 0x45, 0xdf, 0xa3], element([0x42, 0x82], [...ascii(docType)])),
      ...[0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      ...element([0x15, 0x49, 0xa9, 0x66], element([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40])),
    ];
    const second = Uint8Array.from(initSegment('webm'));
    const played = Uint8Array.from([...cluster(1), ...cluster(2), ...second, ...cluster(0)]);
    for (const size of [1, 5, 1000]) {
      const watcher = createStreamHeaderWatcher('video/webm')!;
      const found = chunks(played, size).flatMap((chunk) => watcher.push(chunk) ?? []);
      expect(found).toEqual([second]);
    }
  });

  it('watches nothing for streams without a header (MP3)', () => {
    expect(createStreamHeaderWatcher('audio/mpeg')).toBeNull();
  });
});

const servers = serversClosedAfterEach();

describe('PlayerFanOut when a new stream begins in the played data', () => {
  it('serves the new header to players that connect afterwards; others get a chained stream', async () => {
    const fanOut = new PlayerFanOut({ createSyncPointFinder });
    const server = await startPlayerServer({ fanOut, port: 0, status: () => ({}) });
    servers.push(server);
    const first = opusStream(0x1111, 4);
    const second = opusStream(0x2222, 4);
    fanOut.setStreamHeader('audio/ogg', first.header);
    const early = openPlayer(server.url);
    await until(() => early.bytes().length === first.header.length);
    let chunkNumber = 0;
    const play = (bytes: Uint8Array) => {
      for (const chunk of chunks(bytes, 64)) fanOut.play(chunkNumber++, chunk);
    };
    play(Buffer.concat(first.data));
    // The source's ingest reconnected: the new stream's header pages arrive as data.
    const afterRestart = Buffer.concat([second.header, ...second.data.slice(0, 2)]);
    play(afterRestart);
    const late = openPlayer(server.url);
    await until(() => late.bytes().length >= second.header.length);
    play(Buffer.concat(second.data.slice(2)));
    const lateExpected = Buffer.concat([second.header, ...second.data.slice(2)]);
    await until(() => late.bytes().length === lateExpected.length);
    expect(late.bytes()).toEqual(lateExpected);
    const earlyExpected = Buffer.concat([
      first.header,
      ...first.data,
      afterRestart,
      ...second.data.slice(2),
    ]);
    await until(() => early.bytes().length === earlyExpected.length);
    expect(early.bytes()).toEqual(earlyExpected);
    early.close();
    late.close();
  });
});
