import {
  drainOutputs,
  encodeDatagram,
  type StreamMetadata,
  UNKNOWN_STREAM_INFO,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { joinedPeer, SOURCE, sent } from './joined-peer.test-helpers.js';

const station = { ...UNKNOWN_STREAM_INFO, name: 'Radio Libre', bitrate: 128 };

function metadata(sequence: number, title: string): Uint8Array {
  const message: StreamMetadata = {
    type: 'stream-metadata',
    sequence,
    chunkNumber: 40 + sequence,
    title,
    info: station,
  };
  return encodeDatagram(message);
}

describe('PeerCore stream metadata (ICY titles from the source)', () => {
  it('hands each new title to the players once, ignores copies, relays nothing', () => {
    const { core } = joinedPeer();
    const outputs = [1, 1, 2, 2, 2, 1].flatMap((sequence, index) => {
      core.handle(
        { type: 'datagram', from: SOURCE, bytes: metadata(sequence, `Song ${sequence}`) },
        10 + index,
      );
      return drainOutputs(core);
    });
    expect(outputs.filter((output) => output.type === 'stream-metadata')).toEqual([
      { type: 'stream-metadata', chunkNumber: 41, title: 'Song 1', info: station },
      { type: 'stream-metadata', chunkNumber: 42, title: 'Song 2', info: station },
      // A source that restarted counts from 1 again: a sequence other than the last is new.
      { type: 'stream-metadata', chunkNumber: 41, title: 'Song 1', info: station },
    ]);
    expect(sent(outputs).filter((entry) => entry.message.type === 'stream-metadata')).toEqual([]);
  });

  it('drops a stream-metadata from a member: only the source says what the stream is', () => {
    const { core } = joinedPeer();
    const from = { address: '10.0.1.2', port: 5000 };
    core.handle({ type: 'datagram', from, bytes: metadata(1, 'Spoof') }, 10);
    expect(drainOutputs(core).some((output) => output.type === 'stream-metadata')).toBe(false);
    expect(core.stats().datagramsDropped.unexpected).toBe(1);
  });

  it('reports the players the driver counts to the source (its listeners)', () => {
    const { core } = joinedPeer({ reportIntervalMillis: 1_000, players: () => 3 });
    core.handleTimeout(1_000);
    const report = sent(drainOutputs(core)).find((entry) => entry.message.type === 'stats-report');
    expect(report?.message).toMatchObject({ type: 'stats-report', players: 3 });
  });
});
