import { createRandom, type Endpoint, type MemberId } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { recommendedChunkWindow, SourceCluster } from '../src/index.js';

/**
 * The free-rider scenario at the level of this package (the simulator repeats it with
 * the real cores): 50 peers, 5 of which receive but never relay, 1% loss on every link. One
 * monitor (the first joiner) complains about every chunk it misses at its play time, B/2
 * chunk times after the source sent it. The source uses the default threshold (32 chunks at
 * 128 kbit/s) and the
 * recommended chunk window for 50 members.
 */
function runFreeRiders(seed: number) {
  const peers = 50;
  const freeRiderCount = 5;
  const bufferSize = 64; // B >= |T| (rule 5)
  const loss = 0.01;
  const random = createRandom(seed);
  const cluster = new SourceCluster({
    bufferSize,
    complaints: { window: recommendedChunkWindow(peers) },
  });
  const endpoints: Endpoint[] = [];
  for (let index = 0; index < peers; index++) {
    const endpoint = {
      address: `10.0.${Math.floor(index / 250)}.${(index % 250) + 1}`,
      port: 4000,
    };
    endpoints.push(endpoint);
    cluster.join(
      {
        endpoint,
        role: 'peer',
        nat: { type: 'open', portStep: 0, mappedEndpoint: null },
        credential: new Uint8Array(),
        privateEndpoint: null,
      },
      0,
    );
  }
  const monitor = cluster.members.get(1);
  if (monitor?.role !== 'monitor') throw new Error('the first joiner should be the monitor');
  // Free riders: five members picked by the seed, never the monitor.
  const freeRiders = new Set<MemberId>();
  while (freeRiders.size < freeRiderCount)
    freeRiders.add(2 + Math.floor(random.next() * (peers - 1)));
  const complaints: { due: number; chunkNumber: number }[] = [];
  const expelledAtRound = new Map<MemberId, number>();
  const chunksGiven: number[] = [];
  const chunks = 60 * peers;
  for (let chunkNumber = 0; chunkNumber < chunks; chunkNumber++) {
    while (complaints[0] !== undefined && complaints[0].due <= chunkNumber) {
      const complaint = complaints.shift() as { chunkNumber: number };
      const outcome = cluster.lostChunk(
        monitor.endpoint,
        complaint.chunkNumber,
        chunkNumber,
        64, // 128 kbit/s with 1,024-byte chunks
      );
      for (const removal of outcome.expulsions) {
        expelledAtRound.set(removal.member.memberId, chunkNumber / peers);
        chunksGiven.push(removal.member.chunksSent);
      }
    }
    const destination = cluster.nextDestination(chunkNumber);
    if (destination === undefined) break;
    const reachedDestination = random.next() >= loss;
    const reachedMonitor =
      destination.memberId === monitor.memberId
        ? reachedDestination
        : reachedDestination && !freeRiders.has(destination.memberId) && random.next() >= loss;
    if (!reachedMonitor) complaints.push({ due: chunkNumber + bufferSize / 2, chunkNumber });
  }
  return { freeRiders, expelledAtRound, chunksGiven };
}

describe('free riders among 50 peers with 1% loss', () => {
  it('expels every free rider and no honest peer, in 10 seeds', () => {
    const rounds: number[] = [];
    const given: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const { freeRiders, expelledAtRound, chunksGiven } = runFreeRiders(seed);
      expect(new Set(expelledAtRound.keys()), `seed ${seed}`).toEqual(freeRiders);
      rounds.push(...expelledAtRound.values());
      given.push(...chunksGiven);
    }
    const mean = rounds.reduce((sum, value) => sum + value, 0) / rounds.length;
    // A free rider gets one chunk a round and passes the threshold of 32 at its 33rd lost
    // chunk; the complaint comes B/2 chunk times later, so it may get one more meanwhile.
    expect(Math.min(...given)).toBeGreaterThanOrEqual(33);
    expect(Math.max(...given)).toBeLessThanOrEqual(35);
    console.info(
      `rounds to expulsion over 10 seeds: mean ${mean.toFixed(2)}, min ${Math.min(...rounds).toFixed(2)}, max ${Math.max(...rounds).toFixed(2)}; chunks given to a free rider before expulsion: ${Math.min(...given)}-${Math.max(...given)}`,
    );
  });
});
