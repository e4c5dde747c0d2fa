import {
  drainOutputs,
  MAX_STREAM_TITLE_BYTES,
  type StreamMetadata,
  UNKNOWN_STREAM_INFO,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { createSource, datagramsSent, join } from './source-core.test-helpers.js';
import { STREAM_METADATA_COPIES, truncateUtf8 } from './stream-metadata.js';

const A = { address: '10.0.0.1', port: 5001 };
const B = { address: '10.0.0.2', port: 5002 };
const station = { ...UNKNOWN_STREAM_INFO, name: 'Radio Libre', genre: 'talk', bitrate: 128 };

function metadataSent(outputs: ReturnType<typeof drainOutputs>) {
  return datagramsSent(outputs as never).flatMap((sent) =>
    sent.message.type === 'stream-metadata'
      ? [{ to: sent.to, message: sent.message as StreamMetadata }]
      : [],
  );
}

/** A source fed one chunk of raw bytes (no header), with member A joined at t = 0. */
function sourceWithMember() {
  const core = createSource();
  core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 0);
  join(core, 1, A, 0);
  return core;
}

describe('SourceCore stream metadata (ICY titles through the cluster)', () => {
  it('sends a title change to every member, 3 copies a second apart, and nothing after', () => {
    const core = sourceWithMember();
    core.handle({ type: 'ingest-metadata', title: 'Artist - Song', info: station }, 10);
    const first = metadataSent(drainOutputs(core));
    expect(first).toEqual([
      {
        to: A,
        message: {
          type: 'stream-metadata',
          sequence: 1,
          chunkNumber: core.stats().nextChunkNumber,
          title: 'Artist - Song',
          info: station,
        },
      },
    ]);
    let copies = first.length;
    for (let now = 1_010; now <= 10_010; now += 1_000) {
      core.handleTimeout(now);
      copies += metadataSent(drainOutputs(core)).length;
    }
    expect(copies).toBe(STREAM_METADATA_COPIES);
    expect(core.stats().metadataDatagramsSent).toBe(STREAM_METADATA_COPIES);
    expect(core.title()).toBe('Artist - Song');
  });

  it('gives a late joiner the current title once its hello completes the join', () => {
    const core = sourceWithMember();
    core.handle({ type: 'ingest-metadata', title: 'First' }, 10);
    drainOutputs(core);
    const { outputs } = join(core, 2, B, 500);
    const toB = metadataSent(outputs).filter((sent) => sent.to.address === B.address);
    expect(toB.map((sent) => [sent.message.sequence, sent.message.title])).toEqual([[1, 'First']]);
  });

  it('keeps the other field when an update carries one, bumps the sequence, ignores repeats', () => {
    const core = sourceWithMember();
    core.handle({ type: 'ingest-metadata', info: station }, 10);
    core.handle({ type: 'ingest-metadata', title: 'Song' }, 20);
    core.handle({ type: 'ingest-metadata', title: 'Song', info: station }, 30);
    const sent = metadataSent(drainOutputs(core)).map((entry) => entry.message);
    expect(sent.map((message) => [message.sequence, message.title, message.info.name])).toEqual([
      [1, '', 'Radio Libre'],
      [2, 'Song', 'Radio Libre'],
    ]);
    expect(core.stats().metadataChanges).toBe(2);
  });

  it('sends nothing before the ingest said anything, and nothing to members that left', () => {
    const core = sourceWithMember();
    expect(metadataSent(drainOutputs(core))).toEqual([]);
    core.handle({ type: 'ingest-metadata', title: 'Song' }, 10);
    drainOutputs(core);
    core.handle({ type: 'stop' }, 20);
    core.handleTimeout(2_000);
    expect(metadataSent(drainOutputs(core))).toEqual([]);
  });

  it('cuts a title over the wire bound on a character boundary', () => {
    const core = sourceWithMember();
    const long = 'é'.repeat(MAX_STREAM_TITLE_BYTES);
    core.handle({ type: 'ingest-metadata', title: long }, 10);
    const [sent] = metadataSent(drainOutputs(core));
    expect(sent?.message.title).toBe('é'.repeat(MAX_STREAM_TITLE_BYTES / 2));
    expect(truncateUtf8('a€b', 3)).toBe('a');
    expect(truncateUtf8('a\uD800', 10)).toBe('a\uFFFD');
  });
});
