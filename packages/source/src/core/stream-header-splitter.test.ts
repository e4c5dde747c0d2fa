import { readFileSync } from 'node:fs';
import { findSyncPoint } from '@p2psp/media';
import { demoSamplePath } from '@p2psp/media/assets';
import { oggPage, opusHead, opusTags } from '@p2psp/media/testing';
import { describe, expect, it } from 'vitest';
import { createHeaderSplitter } from './stream-header-splitter.js';

// The splitter after `restart` (the HTTP ingest reconnected): regression tests for the
// Icecast restart bug (an Ogg mount comes back as a new stream with new header pages) and
// its MP3 seam (a new connection may start mid-frame).

/** An Ogg/Opus stream: OpusHead (BOS) and OpusTags header pages, then 3 data pages. */
function opusStream(serial: number) {
  const header = Buffer.concat([
    oggPage({ serial, sequence: 0, flags: 0x02, packets: [opusHead()] }),
    oggPage({ serial, sequence: 1, packets: [opusTags()] }),
  ]);
  const data = Buffer.concat(
    [2, 3, 4].map((sequence) =>
      oggPage({ serial, sequence, packets: [new Uint8Array(90).fill(sequence)] }),
    ),
  );
  return { header, data, all: Buffer.concat([header, data]) };
}

/** Pushes bytes in pieces of `size`; returns all media the splitter let through. */
function pushAll(
  splitter: ReturnType<typeof createHeaderSplitter>,
  bytes: Uint8Array,
  size: number,
): Buffer {
  const media: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    media.push(splitter!.push(bytes.subarray(offset, offset + size)));
  }
  return Buffer.concat(media);
}

describe('createHeaderSplitter after restart (the ingest reconnected)', () => {
  it.each([1, 50, 4096])('captures the new Ogg stream header (%i-byte pushes)', (size) => {
    const first = opusStream(0x1111);
    const second = opusStream(0x2222);
    const splitter = createHeaderSplitter('ogg')!;
    expect(pushAll(splitter, first.all, size)).toEqual(first.data);
    expect(Buffer.from(splitter.header!)).toEqual(first.header);
    splitter.restart!();
    expect(splitter.header).toBeNull();
    expect(pushAll(splitter, second.all, size)).toEqual(second.data);
    expect(Buffer.from(splitter.header!)).toEqual(second.header);
  });

  it('keeps the old Ogg header when the new connection resumes mid-stream, from a page', () => {
    const first = opusStream(0x1111);
    const splitter = createHeaderSplitter('ogg')!;
    pushAll(splitter, first.all, 4096);
    splitter.restart!();
    // The new connection starts 10 bytes into a data page.
    const resumed = first.data.subarray(10);
    const media = pushAll(splitter, resumed, 64);
    expect(Buffer.from(splitter.header!)).toEqual(first.header);
    expect(media).toEqual(resumed.subarray(findSyncPoint('ogg', resumed)));
    expect(media.subarray(0, 4).toString()).toBe('OggS');
  });

  it('starts a reconnected MP3 stream at its first whole frame', () => {
    const mp3 = readFileSync(demoSamplePath);
    const splitter = createHeaderSplitter('mp3')!;
    expect(pushAll(splitter, mp3.subarray(0, 20_000), 1000)).toEqual(mp3.subarray(0, 20_000));
    splitter.restart!();
    // The new connection starts mid-frame (an Icecast burst buffer is not frame aligned).
    const resumed = mp3.subarray(30_001, 60_000);
    const media = pushAll(splitter, resumed, 777);
    const firstFrame = findSyncPoint('mp3', resumed);
    expect(firstFrame).toBeGreaterThan(0);
    expect(media).toEqual(resumed.subarray(firstFrame));
    expect(splitter.header).toEqual(new Uint8Array(0));
  });
});
