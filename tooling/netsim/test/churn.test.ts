import { PeerCore } from '@p2psp/peer';
import { SourceCore } from '@p2psp/source';
import {
  type CoreOutput,
  createRandom,
  type Endpoint,
  encodeDatagram,
  type Instant,
  type MemberId,
  type SansIoCore,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../src/cluster-scenario.js';
import { addRecordedNode } from '../src/core-recorder.js';
import { Simulator } from '../src/simulator.js';
import { StreamGenerator } from '../src/stream-generator.js';

// Churn on the simulator with the real cores (virtual time, seeded): members crash without
// goodbye; their neighbours report them silent (member-silent), the source stops feeding
// them and removes them before its member timeout. Members that lie about an honest peer
// cannot remove it: the source also needs its own silence from the accused.

const percent = (ratio: number) => `${(ratio * 100).toFixed(2)}%`;

describe('churn: crashed members detected by their neighbours (simulator, real cores)', () => {
  it('10 peers, 3 crash: detected in under 5 s (member timeout 10 s), survivors lose <= 1% in the 10 s after', () => {
    const rows: string[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const { summary } = runClusterScenario({
        peers: 10,
        bufferSize: 64,
        seconds: 40,
        crashFraction: 0.34,
        crashAtMs: 20_000,
        // 10 s, the CLI's default --member-timeout: 157 chunk times of 64 ms.
        memberTimeoutChunks: 157,
        seed,
      });
      const crashes = summary.health.crashes!;
      expect(crashes.crashed).toHaveLength(3);
      expect(crashes.sourceMissed).toEqual([]);
      expect(crashes.sourceDropMs.count).toBe(3);
      expect(crashes.sourceDropMs.max).toBeLessThan(5000);
      expect(crashes.survivorLossAfterCrash.max).toBeLessThanOrEqual(0.01);
      expect(summary.health.silentDrops.every((drop) => drop.crashed)).toBe(true);
      expect(summary.health.honestExpelled).toEqual([]);
      rows.push(
        `seed ${seed}: source drop ${crashes.sourceDropMs.mean.toFixed(0)} ms mean, ${crashes.sourceDropMs.max.toFixed(0)} max; survivors' loss in 10 s after: mean ${percent(crashes.survivorLossAfterCrash.mean)} max ${percent(crashes.survivorLossAfterCrash.max)}`,
      );
    }
    console.log(
      `churn, 10 peers, 3 crash at 20 s, B = 64, member timeout 10 s\n${rows.join('\n')}`,
    );
  });

  it.each([1, 2])(
    '%i member(s) falsely report an honest peer all along: it is never removed and keeps playing',
    (liars) => {
      const sim = new Simulator({ seed: 5 });
      const SOURCE: Endpoint = { address: '10.0.0.1', port: 4552 };
      const source = new SourceCore({
        random: createRandom(1),
        chunkSize: 1024,
        bufferSize: 64,
        mediaType: 'audio/mpeg',
        cluster: { livenessTimeoutMillis: 10_000 },
      });
      const sourceNode = addRecordedNode(sim, {
        name: 'source',
        endpoint: SOURCE,
        core: source,
        tcpListenPort: SOURCE.port,
        link: { latencyMs: 2, loss: 0.01 },
      });
      new StreamGenerator(sim, sourceNode.node, {
        bitrate: 128_000,
        pieceBytes: 512,
        startAt: 0,
        stopAt: 60_000,
      });
      const peers = Array.from({ length: 8 }, (_, index) => {
        const core = new PeerCore({ source: SOURCE, random: createRandom(10 + index) });
        return { core, index };
      });
      // Peer 3 is the victim; peer 1 (and 2) lie about it every 100 ms from 5 s on.
      const victim = peers[3]!;
      const records = peers.map(({ core, index }) =>
        addRecordedNode(sim, {
          name: `peer-${index}`,
          endpoint: { address: `10.0.1.${index + 1}`, port: 5000 },
          core:
            index >= 1 && index <= liars
              ? new Liar(core, SOURCE, () => victim.core.memberId)
              : core,
          link: { latencyMs: 2, loss: 0.01 },
        }),
      );
      sim.runUntil(60_000);
      const stats = source.stats();
      const victimId = victim.core.memberId;
      expect(
        sourceNode.record.events.filter(
          (event) =>
            (event.name === 'peer-leave' || event.name === 'peer-expel') &&
            event.fields.memberId === victimId,
        ),
      ).toEqual([]);
      expect(stats.silenceReportsReceived).toBeGreaterThan(500);
      expect(stats.membersRemovedOnReports).toBe(0);
      expect(stats.members).toBe(8);
      expect(victim.core.state).toBe('streaming');
      // Its loss is the honest peers' own (1% loss on every access link): lies cost it nothing.
      const lossFrom5s = (index: number) => {
        const plays = records[index]!.record.plays.filter((play) => play.at > 5000);
        return plays.filter((play) => play.payload === null).length / plays.length;
      };
      const honest = [0, 4, 5, 6, 7].map(lossFrom5s);
      console.log(
        `${liars} liar(s): ${stats.silenceReportsReceived} false reports, the victim skipped ${stats.membersSkipped} times, removed 0 times; loss from 5 s: victim ${percent(lossFrom5s(3))}, honest others ${honest.map(percent).join(' ')}`,
      );
      expect(lossFrom5s(3)).toBeLessThanOrEqual(Math.max(...honest) + 0.005);
    },
  );
});

/** A member that also reports `accused()` silent to the source every 100 ms from 5 s on. */
class Liar implements SansIoCore {
  readonly #inner: PeerCore;
  readonly #source: Endpoint;
  readonly #accused: () => MemberId;
  readonly #forged: CoreOutput[] = [];
  #nextAt: Instant = 5000;

  constructor(inner: PeerCore, source: Endpoint, accused: () => MemberId) {
    this.#inner = inner;
    this.#source = source;
    this.#accused = accused;
  }

  handle(input: Parameters<SansIoCore['handle']>[0], now: Instant): void {
    this.#inner.handle(input, now);
  }

  handleTimeout(now: Instant): void {
    if (now >= this.#nextAt) {
      this.#nextAt = now + 100;
      const bytes = encodeDatagram({
        type: 'member-silent',
        memberId: this.#inner.memberId,
        silentMemberId: this.#accused(),
      });
      this.#forged.push({ type: 'send-datagram', to: this.#source, bytes });
    }
    const inner = this.#inner.pollTimeout();
    if (inner !== undefined && inner <= now) this.#inner.handleTimeout(now);
  }

  pollTimeout(): Instant | undefined {
    const inner = this.#inner.pollTimeout();
    return inner === undefined ? this.#nextAt : Math.min(inner, this.#nextAt);
  }

  pollOutput(): CoreOutput | undefined {
    return this.#forged.shift() ?? this.#inner.pollOutput();
  }
}
