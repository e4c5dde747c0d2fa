import type { Endpoint } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { ComplaintLedger, DEFAULT_COMPLAINT_WINDOW } from './complaint-ledger.js';
import { SourceCluster } from './source-cluster.js';

/** 1,024-byte chunks: 64 ms apart at 128 kbit/s, 4.096 ms at 2 Mbit/s, 256 ms at 32 kbit/s. */
const AT_128K = 64;
const AT_2M = 4.096;
const AT_32K = 256;

const at = (address: string): Endpoint => ({ address, port: 4000 });
const position = (chunkIntervalMillis: number, latestChunkNumber = 0) => ({
  now: 0,
  latestChunkNumber,
  chunkIntervalMillis,
});

/**
 * A monitor and one member fed round robin; the monitor complains about every chunk the
 * member got, as it is sent (a monitor loses a new member's relays until it knows it).
 * Returns how many complaints it took to expel the member, or null if none did.
 */
function complaintsToExpel(complaints: number, chunkIntervalMillis: number): number | null {
  const cluster = new SourceCluster({ bufferSize: 64 });
  for (const address of ['10.0.0.1', '10.0.0.2']) {
    cluster.join(
      {
        endpoint: at(address),
        role: 'peer',
        nat: { type: 'open', portStep: 0, mappedEndpoint: null },
        credential: new Uint8Array(),
        privateEndpoint: null,
      },
      0,
    );
  }
  let charged = 0;
  for (let chunkNumber = 0; charged < complaints; chunkNumber++) {
    const now = chunkNumber * chunkIntervalMillis;
    if (cluster.nextDestination(chunkNumber)?.role !== 'member') continue;
    charged++;
    const outcome = cluster.lostChunk(at('10.0.0.1'), chunkNumber, now, chunkIntervalMillis);
    expect(outcome.complaint.kind).toBe('charged');
    if (outcome.expulsions.length > 0) return charged;
  }
  return null;
}

describe('rule 8 threshold in stream time', () => {
  it('is P2PSP 32 chunks at 128 kbit/s and the same 2,048 ms at 2 Mbit/s', () => {
    const ledger = new ComplaintLedger();
    expect(ledger.thresholdAt(position(AT_128K))).toBe(32);
    expect(ledger.thresholdAt(position(AT_2M))).toBe(500);
  });

  it('expels on the 33rd complaint at 128 kbit/s, as P2PSP, and on the 501st at 2 Mbit/s', () => {
    expect(complaintsToExpel(33, AT_128K)).toBe(33);
    // 33 complaints are 131 ms of a 2 Mbit/s stream: a joiner's first relays, not free riding.
    expect(complaintsToExpel(33, AT_2M)).toBeNull();
    expect(complaintsToExpel(501, AT_2M)).toBe(501);
  });

  it('never falls below 32 chunks, and the window holds 128 thresholds at every bitrate', () => {
    const ledger = new ComplaintLedger();
    expect(ledger.thresholdAt(position(AT_32K))).toBe(32);
    expect(DEFAULT_COMPLAINT_WINDOW).toEqual({ kind: 'stream-time', milliseconds: 262_144 });
    for (const interval of [AT_32K, AT_128K, AT_2M]) {
      const window = ledger.chunksOf(262_144, position(interval));
      expect(window).toBe(128 * ledger.thresholdAt(position(interval)));
      // A complaint is kept while it is within the window's chunk numbers, then dropped.
      const key = `k${interval}`;
      ledger.charge(key, 0, position(interval));
      expect(ledger.count(key, position(interval, window - 1))).toBe(1);
      expect(ledger.count(key, position(interval, window))).toBe(0);
    }
  });

  it('takes thresholdMillis, or threshold in complaints as is, not both', () => {
    expect(new ComplaintLedger({ thresholdMillis: 4096 }).thresholdAt(position(AT_2M))).toBe(1000);
    const exact = new ComplaintLedger({ threshold: 3 });
    expect(exact.thresholdAt(position(AT_2M))).toBe(3);
    // An exact threshold leaves a window in stream time at the stream's own interval.
    expect(exact.chunksOf(262_144, position(AT_32K))).toBe(1024);
    expect(() => new ComplaintLedger({ threshold: 3, thresholdMillis: 100 })).toThrow(
      /thresholdMillis and threshold both given/,
    );
    expect(() => new ComplaintLedger({ thresholdMillis: 0 })).toThrow(/thresholdMillis/);
    expect(() => new ComplaintLedger({ window: { kind: 'stream-time', milliseconds: 0 } })).toThrow(
      /window.milliseconds/,
    );
  });
});
