import { drainOutputs, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { createSource, datagramsSent, join } from './source-core.test-helpers.js';

/**
 * A member's chunk-request: the peer asks when our hop to it lost a chunk we sent it (it
 * was the chunk's destination, so no neighbour has it). Answered flagged recovered, to
 * that destination only, at most twice per chunk; anything else dropped and counted.
 */
describe('SourceCore answers a chunk-request from the chunk destination', () => {
  const first = { address: '10.0.0.1', port: 5000 };
  const second = { address: '10.0.0.2', port: 5000 };

  function cluster() {
    const core = createSource();
    join(core, 1, first, 0);
    join(core, 2, second, 1);
    // Chunks 0-3, round robin over members 1 and 2 (rule 1).
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(4 * 64).fill(7) }, 2);
    const fed = datagramsSent(drainOutputs(core)).flatMap(({ to, message }) =>
      message.type === 'chunk' ? [{ to, chunkNumber: message.chunkNumber }] : [],
    );
    return { core, fed };
  }

  const request = (memberId: number, chunkNumber: number) =>
    encodeDatagram({ type: 'chunk-request', memberId, chunkNumber });

  it('sends the chunk back to its destination, flagged recovered, twice at most', () => {
    const { core, fed } = cluster();
    const mine = fed.find(({ to }) => to.address === first.address)!;
    const answers = [];
    for (const now of [10, 11, 12]) {
      core.handle({ type: 'datagram', from: first, bytes: request(1, mine.chunkNumber) }, now);
      answers.push(...datagramsSent(drainOutputs(core)));
    }
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatchObject({
      to: first,
      message: {
        type: 'chunk',
        chunkNumber: mine.chunkNumber,
        origin: 1,
        flags: { recovered: true },
        payload: new Uint8Array(64).fill(7),
      },
    });
    expect(core.stats().datagramsDropped.unexpected).toBe(1);
  });

  it('drops a request for a chunk sent to another member, or in another name', () => {
    const { core, fed } = cluster();
    const theirs = fed.find(({ to }) => to.address === second.address)!;
    const mine = fed.find(({ to }) => to.address === first.address)!;
    core.handle({ type: 'datagram', from: first, bytes: request(1, theirs.chunkNumber) }, 10);
    core.handle({ type: 'datagram', from: first, bytes: request(2, mine.chunkNumber) }, 11);
    core.handle({ type: 'datagram', from: first, bytes: request(1, 1000) }, 12);
    expect(datagramsSent(drainOutputs(core))).toEqual([]);
    expect(core.stats().datagramsDropped.unexpected).toBe(3);
  });
});
