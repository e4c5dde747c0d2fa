import type { Random } from '@p2psp/wire';

/**
 * Gilbert-Elliott bursty loss: a two-state Markov chain stepped once per datagram. In the
 * good state datagrams are lost with `lossInGood` (usually 0), in the bad state with
 * `lossInBad`. Mean loss = pBad * lossInBad + (1 - pBad) * lossInGood with
 * pBad = goodToBad / (goodToBad + badToGood); mean burst length = 1 / badToGood.
 */
export interface GilbertElliottModel {
  readonly goodToBad: number;
  readonly badToGood: number;
  readonly lossInGood: number;
  readonly lossInBad: number;
}

/**
 * Gilbert-Elliott loss with mean `loss` in bursts of `burstLength` datagrams on average: the
 * bad state loses every datagram and the good state none, so a burst is a stay in the bad
 * state, 1 / badToGood datagrams long, and the stationary share of the bad state,
 * goodToBad / (goodToBad + badToGood), is the mean loss. For 0.5% per access link (1% per
 * path) and bursts of 3: badToGood = 1/3, goodToBad = 0.00168.
 */
export function burstLinkModel(loss: number, burstLength: number): GilbertElliottModel {
  const badToGood = 1 / burstLength;
  return {
    goodToBad: loss >= 1 ? 1 : (badToGood * loss) / (1 - loss),
    badToGood,
    lossInGood: 0,
    lossInBad: 1,
  };
}

/** One direction of a link: a host's access uplink or downlink, or an explicit path. */
export interface LinkModel {
  /** Fixed one-way delay in milliseconds. */
  readonly latencyMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per datagram (so UDP may reorder). */
  readonly jitterMs: number;
  /** Independent random loss probability per datagram, in [0, 1]. */
  readonly loss: number;
  /** Bursty loss on top of `loss`, or null. */
  readonly burst: GilbertElliottModel | null;
}

export const PERFECT_LINK: LinkModel = { latencyMs: 0, jitterMs: 0, loss: 0, burst: null };

export function linkModel(partial: Partial<LinkModel> | undefined): LinkModel {
  return { ...PERFECT_LINK, ...partial };
}

/** The mutable state of one link direction (the Gilbert-Elliott state). */
export class LinkState {
  private bad = false;

  constructor(readonly model: LinkModel) {}

  /** Whether this datagram is lost; draws from `random` only when the model can lose. */
  lose(random: Random): boolean {
    const model = this.model;
    const burst = model.burst;
    if (burst !== null) {
      // Step the chain first, then draw loss in the new state (packet-level GE model).
      if (this.bad) {
        if (random.next() < burst.badToGood) this.bad = false;
      } else if (random.next() < burst.goodToBad) {
        this.bad = true;
      }
      const stateLoss = this.bad ? burst.lossInBad : burst.lossInGood;
      if (stateLoss > 0 && random.next() < stateLoss) return true;
    }
    return model.loss > 0 && random.next() < model.loss;
  }

  /** One-way delay for this datagram in milliseconds. */
  delay(random: Random): number {
    const model = this.model;
    return model.jitterMs > 0 ? model.latencyMs + random.next() * model.jitterMs : model.latencyMs;
  }
}

/** Checks a link model, naming the field and the fix (undici-style option checks). */
export function validateLinkModel(model: LinkModel, where: string): void {
  const check = (ok: boolean, field: string, fix: string): void => {
    if (!ok) throw new RangeError(`${where}.${field} is invalid: ${fix}`);
  };
  check(Number.isFinite(model.latencyMs) && model.latencyMs >= 0, 'latencyMs', 'use a number >= 0');
  check(Number.isFinite(model.jitterMs) && model.jitterMs >= 0, 'jitterMs', 'use a number >= 0');
  check(model.loss >= 0 && model.loss <= 1, 'loss', 'use a probability in [0, 1]');
  if (model.burst !== null) {
    for (const field of ['goodToBad', 'badToGood', 'lossInGood', 'lossInBad'] as const) {
      const value = model.burst[field];
      check(value >= 0 && value <= 1, `burst.${field}`, 'use a probability in [0, 1]');
    }
  }
}
