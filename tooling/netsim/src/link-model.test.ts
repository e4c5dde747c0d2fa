import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  burstLinkModel,
  type GilbertElliottModel,
  LinkState,
  linkModel,
  validateLinkModel,
} from './link-model.js';

describe('LinkState', () => {
  it('loses about `loss` of datagrams (within 4 standard deviations)', () => {
    const random = createRandom(1);
    const state = new LinkState(linkModel({ loss: 0.05 }));
    const trials = 100_000;
    let lost = 0;
    for (let trial = 0; trial < trials; trial += 1) if (state.lose(random)) lost += 1;
    const sigma = Math.sqrt((0.05 * 0.95) / trials);
    expect(Math.abs(lost / trials - 0.05)).toBeLessThan(4 * sigma);
  });

  /** Mean loss and mean burst length of `burst` measured over `trials` datagrams. */
  function measureBursts(burst: GilbertElliottModel, seed: number, trials: number) {
    const random = createRandom(seed);
    const state = new LinkState(linkModel({ burst }));
    let lost = 0;
    let bursts = 0;
    let previous = false;
    for (let trial = 0; trial < trials; trial += 1) {
      const now = state.lose(random);
      if (now) lost += 1;
      if (now && !previous) bursts += 1;
      previous = now;
    }
    return { loss: lost / trials, burstLength: lost / bursts };
  }

  it('Gilbert-Elliott: mean loss and mean burst length match the chain', () => {
    const burst = { goodToBad: 0.01, badToGood: 0.25, lossInGood: 0, lossInBad: 1 };
    const measured = measureBursts(burst, 2, 400_000);
    const pBad = burst.goodToBad / (burst.goodToBad + burst.badToGood);
    // Within 10% of the stationary loss and of the mean burst length 1 / badToGood = 4.
    expect(Math.abs(measured.loss - pBad) / pBad).toBeLessThan(0.1);
    expect(Math.abs(measured.burstLength - 1 / burst.badToGood) / 4).toBeLessThan(0.1);
  });

  it('burstLinkModel: the mean loss asked for, in bursts of the length asked for', () => {
    // 0.5% per access link (1% per path of two), bursts of 3 datagrams.
    const measured = measureBursts(burstLinkModel(0.005, 3), 4, 2_000_000);
    expect(Math.abs(measured.loss - 0.005) / 0.005).toBeLessThan(0.1);
    expect(Math.abs(measured.burstLength - 3) / 3).toBeLessThan(0.1);
  });

  it('delays by latency plus uniform jitter', () => {
    const random = createRandom(3);
    const state = new LinkState(linkModel({ latencyMs: 20, jitterMs: 10 }));
    let sum = 0;
    const trials = 20_000;
    for (let trial = 0; trial < trials; trial += 1) {
      const delay = state.delay(random);
      expect(delay).toBeGreaterThanOrEqual(20);
      expect(delay).toBeLessThan(30);
      sum += delay;
    }
    // Uniform [0, 10): mean 5, standard deviation 10/sqrt(12).
    const sigma = 10 / Math.sqrt(12) / Math.sqrt(trials);
    expect(Math.abs(sum / trials - 25)).toBeLessThan(4 * sigma);
  });

  it('rejects bad models naming the field', () => {
    expect(() => validateLinkModel(linkModel({ loss: 2 }), 'peer')).toThrow(/peer\.loss/);
    expect(() => validateLinkModel(linkModel({ latencyMs: -1 }), 'peer')).toThrow(
      /peer\.latencyMs/,
    );
  });
});
