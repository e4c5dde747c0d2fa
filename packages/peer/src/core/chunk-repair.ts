import type { Chunk, Instant, MemberId, Random } from '@p2psp/wire';

/**
 * RMS-lite: repair of chunks lost on the last hop (an extension beyond P2PSP's DBS rules,
 * which never resend; PROTOCOL-NOTES lists RMS, reliable mode, as an unimplemented idea).
 *
 * DBS stays push-based: every chunk still travels source -> origin -> everybody. A chunk
 * that did not arrive by the time it should have (all relays of a chunk reach their
 * targets within the origin's relay spread, rule 3) is asked for, once, from ONE verified
 * neighbour with a `chunk-request`; the neighbour answers with the chunk from its buffer,
 * flagged `recovered`, and that copy is never relayed further (rule 2 is about chunks from
 * the source). No answer within `RETRY_CHUNKS` chunk intervals: another neighbour is asked,
 * at most `MAX_ATTEMPTS` in all. A token bucket caps the requests a peer sends and another
 * the answers it gives (in total and per requester), so a broken or hostile peer can
 * neither flood its neighbours nor be turned into an amplifier (one 10-byte request buys
 * at most one chunk).
 *
 * Losses on the source -> origin hop are not repairable here: nobody but the source ever
 * had the chunk. LRS (the source resends what every monitor lost) covers that hop; the two
 * together bring a 1%-loss cluster under 1% CLR (docs/simulation.md, "Repair").
 *
 * Debt (rule 7): answering costs the answerer and is free for the requester. The answerer
 * does not charge the requester (a repair re-delivers a chunk whose relay was already
 * charged when it got lost, and the answer rate limit bounds what a requester can take),
 * and the requester credits the answerer (-1) like any chunk received. So honest peers'
 * debts do not drift because of repairs, and a free rider gains nothing: requests buy at
 * most `ANSWERS_PER_REQUESTER_PER_INTERVAL` chunks per interval and never pay its debt.
 *
 * Sans-IO: no clock, no timers, no randomness of its own; the peer's play-out passes
 * `now`, its buffer and neighbour table (read only), and the seeded `Random`.
 */

/**
 * A chunk whose likely origin is known is expected when that origin's previous chunk came
 * plus the chunks between them (the source's round robin paces each origin's chunks, rule 1,
 * and an origin relays to its neighbours in the same order each time, rule 3), and asked for
 * this long after: one chunk interval, at least EXPECTED_SLACK_MIN_MILLIS (path jitter).
 */
export const EXPECTED_SLACK_CHUNKS = 1;
export const EXPECTED_SLACK_MIN_MILLIS = 20;
/**
 * Grace for latency and jitter, in chunk intervals: a missing chunk is asked for once chunks
 * this far past the neighbours' relay spread arrived, and no sooner than this long (in time)
 * after a later chunk first arrived, so a burst of chunks in one instant asks for nothing.
 */
export const GRACE_CHUNKS = 2;
/**
 * Chunk intervals to wait for an answer before asking another neighbour, until answers
 * measured the round trip; then the round trip's mean plus four deviations (RFC 6298's RTO,
 * without its 1 s floor: a repair has the play-out delay, not a connection's patience).
 */
export const RETRY_CHUNKS = 3;
/**
 * Neighbours asked for one chunk at most: the likely origin, then one other. The origin
 * holds the chunk unless the source's hop lost it (then nobody does: a third ask only adds
 * traffic, e.g. 3 requests per chunk a free rider withholds); the second covers a request
 * or answer lost on the way (1% loss: 2% of repairs).
 */
export const MAX_ATTEMPTS = 2;
/**
 * A request must leave at least this many chunk intervals before the chunk's play time:
 * less cannot carry a request and its answer.
 */
export const MIN_LEAD_CHUNKS = 2;
/**
 * Request budget: one request per chunk interval on average, bursts of 8. An honest peer
 * at 1% loss needs about 0.02 per interval; the budget only binds when something is broken,
 * and then its repair traffic stays below one chunk per chunk interval (1x the stream).
 */
export const REQUESTS_PER_INTERVAL = 1;
export const REQUEST_BURST = 8;
/** Answers given in total: two per chunk interval, bursts of 16 (about 0.2x the stream). */
export const ANSWERS_PER_INTERVAL = 2;
export const ANSWER_BURST = 16;
/** Answers given to one requester: one per two chunk intervals, bursts of 4. */
export const ANSWERS_PER_REQUESTER_PER_INTERVAL = 0.5;
export const ANSWER_BURST_PER_REQUESTER = 4;
/** Requesters whose answer budgets are remembered; beyond, the table starts again. */
const MAX_REQUESTERS = 4096;

const RECOVERED_FLAGS = Object.freeze({ nonExclusive: false, recovered: true });
const NO_SIGNATURE = new Uint8Array(0);

/** Counters, for `PeerStats.repair`. */
export interface RepairStats {
  /** Chunks we asked for that then arrived in time to be played. */
  readonly chunksRepaired: number;
  /** chunk-requests sent (each to one neighbour). */
  readonly repairRequestsSent: number;
  /** Missing chunks given up on: every attempt used, nobody left to ask, or play time came. */
  readonly repairsFailed: number;
  /** Requests not sent (yet) because the request budget was spent. */
  readonly repairRequestsDeferred: number;
  /** chunk-requests received from verified neighbours. */
  readonly repairRequestsReceived: number;
  /** ...answered with the chunk. */
  readonly repairRequestsAnswered: number;
  /** ...not answered: the chunk was not (or no longer) in our buffer. */
  readonly repairRequestsUnavailable: number;
  /** ...not answered: over the answer rate limit (total or for that requester). */
  readonly repairRequestsRefused: number;
}

export const NO_REPAIR_STATS: RepairStats = Object.freeze({
  chunksRepaired: 0,
  repairRequestsSent: 0,
  repairsFailed: 0,
  repairRequestsDeferred: 0,
  repairRequestsReceived: 0,
  repairRequestsAnswered: 0,
  repairRequestsUnavailable: 0,
  repairRequestsRefused: 0,
});

/** What the repair reads of the buffer at each step (play-out owns it, rule 5). */
export interface RepairBuffer {
  /** Unwrapped buffer index (see ChunkBuffer) of the next chunk to play, or the lowest one. */
  readonly playIndex: number;
  /** The newest chunk index received. */
  readonly highestIndex: number;
  /** The buffer holds this index. */
  has(index: number): boolean;
  numberOf(index: number): number;
  readonly chunkIntervalMillis: number;
}

/** What the repair reads of the neighbour table. */
export interface RepairNeighbours {
  /** Neighbours known (sets how long relays take to reach us, rule 3). */
  readonly size: number;
  /** The neighbours that may be asked: verified ones (they proved their address). */
  verifiedIds(): readonly MemberId[];
  isVerified(memberId: MemberId): boolean;
}

/** Settings fixed at the join accept. */
export interface RepairSettings {
  readonly memberId: MemberId;
  readonly bufferSize: number;
  /** Our play-out delay in chunks: a chunk k is played when k + delay has arrived. */
  readonly playoutDelayChunks: number;
  /** Chunk intervals over which the neighbours spread the relays of one chunk (rule 3). */
  readonly neighbourSpreadChunks: number;
  /**
   * A chunk the source's hop to us lost is asked of the source. False for a monitor: its
   * complaint (rule 8) makes the source resend the chunk through a monitor (LRS), which
   * is the same answer.
   */
  readonly askSource: boolean;
}

export interface RepairRequest {
  /**
   * The neighbour to ask, or null: the source. We were the chunk's origin and the source's
   * hop to us lost it, so no neighbour has it; the source answers its origin (and only it)
   * with the chunk flagged recovered, which we then relay to everybody at once.
   */
  readonly memberId: MemberId | null;
  readonly chunkNumber: number;
}

/** `Missing.asked` entry for the source. */
const SOURCE = -1;

interface Missing {
  attempts: number;
  readonly asked: MemberId[];
  /** When to ask (again); infinite while waiting for the relay spread (no expected time). */
  nextAt: Instant;
  /** When a later chunk first arrived (the gap was seen then). */
  readonly seenAt: Instant;
  /** When the last request went out (round-trip samples). */
  sentAt: Instant;
  /** Handed to `takeUnrepairable` already. */
  reported: boolean;
}

/** Rounding slack of the token count (refills add fractions of a token). */
const TOKEN_EPSILON = 1e-9;

/** A token bucket in chunk intervals: `rate` tokens per interval, at most `burst`. */
class TokenBucket {
  tokens: number;
  at: Instant;
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: Instant,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: Instant, intervalMillis: number): boolean {
    this.refill(now, intervalMillis);
    if (this.tokens < 1 - TOKEN_EPSILON) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /**
   * When the next token is there. A refill can leave 0.9999999999999998 tokens; without
   * the epsilon, `take` refused while this said "now" (the shortfall times the interval
   * rounds away), and a driver polling at that time spun forever (a simulated 50-peer run).
   */
  readyAt(intervalMillis: number): Instant {
    return this.tokens >= 1 - TOKEN_EPSILON
      ? this.at
      : this.at + ((1 - this.tokens) * intervalMillis) / this.rate;
  }

  refill(now: Instant, intervalMillis: number): void {
    if (now > this.at) {
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((now - this.at) * this.rate) / intervalMillis,
      );
      this.at = now;
    }
  }
}

export class ChunkRepair {
  readonly #random: Random;
  readonly #buffer: RepairBuffer;
  readonly #neighbours: RepairNeighbours;
  #settings: RepairSettings;
  /** Missing chunks by buffer index, in index order (scanned in increasing order). */
  readonly #missing = new Map<number, Missing>();
  /** The lowest index not checked yet for a gap; null before the first step. */
  #scanFrom: number | null = null;
  readonly #requests: TokenBucket;
  readonly #answers: TokenBucket;
  readonly #answersByRequester = new Map<MemberId, TokenBucket>();
  /** Origin of the chunks stored, by slot (index mod B), to predict who has a missing one. */
  readonly #origins: Float64Array;
  readonly #originIndexes: Float64Array;
  /** When the chunk stored in each slot arrived (its origin's pace, see `#expectedAt`). */
  readonly #arrivedAt: Float64Array;
  /** Round trip of answered requests: smoothed mean and deviation, ms (RFC 6298). */
  #roundTrip: { mean: number; deviation: number } | null = null;
  /** When a later chunk first arrived, by slot: the gap was seen then (time grace). */
  readonly #seenAt: Float64Array;
  readonly #seenIndexes: Float64Array;
  #seenUpTo: number | null = null;
  /** The last index each origin was seen at, and the last gap between two of its chunks. */
  readonly #lastIndexByOrigin = new Map<MemberId, number>();
  #period = 0;
  #intervalMillis = 1;
  #unrepairable: number[] = [];
  readonly #reportedIndexes: Float64Array;

  #chunksRepaired = 0;
  #requestsSent = 0;
  #failed = 0;
  #deferred = 0;
  #received = 0;
  #answered = 0;
  #unavailable = 0;
  #refused = 0;

  constructor(
    random: Random,
    settings: RepairSettings,
    now: Instant,
    buffer: RepairBuffer,
    neighbours: RepairNeighbours,
  ) {
    this.#random = random;
    this.#buffer = buffer;
    this.#neighbours = neighbours;
    this.#settings = settings;
    this.#requests = new TokenBucket(REQUESTS_PER_INTERVAL, REQUEST_BURST, now);
    this.#answers = new TokenBucket(ANSWERS_PER_INTERVAL, ANSWER_BURST, now);
    this.#origins = new Float64Array(settings.bufferSize).fill(Number.NaN);
    this.#originIndexes = new Float64Array(settings.bufferSize).fill(Number.NaN);
    this.#arrivedAt = new Float64Array(settings.bufferSize).fill(Number.NaN);
    this.#seenAt = new Float64Array(settings.bufferSize).fill(Number.NaN);
    this.#reportedIndexes = new Float64Array(settings.bufferSize).fill(Number.NaN);
    this.#seenIndexes = new Float64Array(settings.bufferSize).fill(Number.NaN);
  }

  /**
   * Chunk intervals after which a chunk not received is missing: the relays of a chunk are
   * spread over min(spread, |T|) intervals (rule 3, the next source chunk to the origin
   * comes a round of |T| chunks later and bursts the rest), plus a grace for latency and
   * jitter; never so late that no request could make it before the play time.
   */
  overdueChunks(neighbours: number): number {
    const { playoutDelayChunks, neighbourSpreadChunks } = this.#settings;
    const spread = Math.min(neighbourSpreadChunks, neighbours + 1);
    return Math.max(1, Math.min(spread + GRACE_CHUNKS, playoutDelayChunks - MIN_LEAD_CHUNKS));
  }

  /**
   * The peer shortened its play-out delay before playing (the accept's chunk interval was
   * the source's initial estimate): repair follows the new delay and relay spread.
   */
  adjustDelay(playoutDelayChunks: number, neighbourSpreadChunks: number): void {
    this.#settings = { ...this.#settings, playoutDelayChunks, neighbourSpreadChunks };
  }

  /**
   * A chunk was stored (its first copy) at `now`. Counts it repaired if we had asked for it,
   * and times the round trip when it came from the one asked last.
   */
  stored(index: number, origin: MemberId, now: Instant): void {
    const missing = this.#missing.get(index);
    if (missing !== undefined) {
      this.#missing.delete(index);
      if (missing.attempts > 0) {
        this.#chunksRepaired++;
        this.#sampleRoundTrip(now - missing.sentAt);
      }
    }
    const slot = this.#slot(index);
    this.#origins[slot] = origin;
    this.#originIndexes[slot] = index;
    this.#arrivedAt[slot] = now;
    const last = this.#lastIndexByOrigin.get(origin);
    // An origin's chunk lost on the way doubles one gap: not the period (a multiple of it).
    const gap = last === undefined ? 0 : index - last;
    if (gap > 0 && (this.#period <= 0 || gap % this.#period !== 0)) this.#period = gap;
    if (last === undefined || index > last) {
      if (this.#lastIndexByOrigin.size >= MAX_REQUESTERS) this.#lastIndexByOrigin.clear();
      this.#lastIndexByOrigin.set(origin, index);
    }
  }

  /** Finds newly overdue gaps and returns the requests due now, within the budget. */
  poll(now: Instant): RepairRequest[] {
    const buffer = this.#buffer;
    this.#intervalMillis = Math.max(0.01, buffer.chunkIntervalMillis);
    this.#scan(now);
    const requests: RepairRequest[] = [];
    // Chunk k is played when k + delay arrives: below this index no answer can make it.
    const lastUseful = buffer.highestIndex - this.#settings.playoutDelayChunks + MIN_LEAD_CHUNKS;
    const overdueFrom = buffer.highestIndex - this.overdueChunks(this.#neighbours.size);
    for (const [index, missing] of this.#missing) {
      if (buffer.has(index)) {
        // Arrived by a path that did not go through `stored` (defensive; cheap).
        this.#missing.delete(index);
        continue;
      }
      if (index < buffer.playIndex || index < lastUseful) {
        // Played as lost, or too close to its play time. Not played yet: reported now (a
        // monitor complains MIN_LEAD_CHUNKS before its play time rather than at it, so
        // an LRS resend can still reach it with a short play-out delay).
        if (index >= buffer.playIndex) this.#report(index, missing);
        this.#missing.delete(index);
        this.#failed++;
        continue;
      }
      if (!Number.isFinite(missing.nextAt)) {
        // No expected time: missing once the relays of chunks this far after it came.
        if (index > overdueFrom) continue;
        missing.nextAt = missing.seenAt + GRACE_CHUNKS * this.#intervalMillis;
      }
      if (missing.nextAt > now) continue;
      // The likely origin did not answer: most likely nobody but the source ever had it.
      if (missing.attempts > 0) this.#report(index, missing);
      if (missing.attempts >= MAX_ATTEMPTS) {
        // The last neighbour asked did not answer in time either.
        this.#missing.delete(index);
        this.#failed++;
        continue;
      }
      const target = this.#chooseTarget(index, missing.asked);
      if (target === null) {
        // Nobody left to ask, or the source's hop to us lost it.
        this.#report(index, missing);
        this.#missing.delete(index);
        this.#failed++;
        continue;
      }
      if (!this.#requests.take(now, this.#intervalMillis)) {
        this.#deferred++;
        break;
      }
      missing.asked.push(target);
      missing.attempts++;
      missing.sentAt = now;
      missing.nextAt = now + this.#retryMillis();
      this.#requestsSent++;
      requests.push({
        memberId: target === SOURCE ? null : target,
        chunkNumber: buffer.numberOf(index),
      });
    }
    return requests;
  }

  /**
   * Chunk numbers that repair most likely cannot get (the source's hop lost them: we were
   * their likely origin, or their likely origin did not answer), each reported once. A
   * monitor complains about them at once (rule 8, LRS) instead of at its play time, so the
   * source's resend reaches it too, not only the peers that play later.
   */
  takeUnrepairable(): number[] {
    const numbers = this.#unrepairable;
    this.#unrepairable = [];
    return numbers;
  }

  #report(index: number, missing: Missing): void {
    if (missing.reported) return;
    missing.reported = true;
    // Bounded: the missing table holds at most B entries, each reported once.
    this.#unrepairable.push(this.#buffer.numberOf(index));
    this.#reportedIndexes[this.#slot(index)] = index;
  }

  /** The chunk at `index` was handed to `takeUnrepairable` (a monitor complained already). */
  reported(index: number): boolean {
    return this.#reportedIndexes[this.#slot(index)] === index;
  }

  /** How long to wait for an answer before asking again (see RETRY_CHUNKS). */
  #retryMillis(): number {
    const roundTrip = this.#roundTrip;
    return roundTrip === null
      ? RETRY_CHUNKS * this.#intervalMillis
      : roundTrip.mean + 4 * roundTrip.deviation;
  }

  /** RFC 6298 section 2: the first sample sets the mean, later ones move it by 1/8. */
  #sampleRoundTrip(sample: number): void {
    const roundTrip = this.#roundTrip;
    if (roundTrip === null) {
      this.#roundTrip = { mean: sample, deviation: sample / 2 };
      return;
    }
    roundTrip.deviation += (Math.abs(roundTrip.mean - sample) - roundTrip.deviation) / 4;
    roundTrip.mean += (sample - roundTrip.mean) / 8;
  }

  /** When `poll` has something to do without new input (a retry, a deferred request). */
  nextAt(): Instant | null {
    let earliest = Number.POSITIVE_INFINITY;
    for (const missing of this.#missing.values()) {
      if (missing.nextAt < earliest) earliest = missing.nextAt;
    }
    if (!Number.isFinite(earliest)) return null;
    // Waiting for the budget: not before the next token.
    return Math.max(earliest, this.#requests.readyAt(this.#intervalMillis));
  }
  /**
   * A verified neighbour's chunk-request: the answer to send, or null (we do not have it,
   * or it is over the answer rate limits). `index` and `payload`: the chunk in our buffer
   * (read, not taken), or null when we do not hold it.
   */
  answer(
    requester: MemberId,
    chunkNumber: number,
    index: number | null,
    payload: Uint8Array | null,
    now: Instant,
  ): Chunk | null {
    this.#received++;
    if (index === null || payload === null) {
      this.#unavailable++;
      return null;
    }
    let own = this.#answersByRequester.get(requester);
    if (own === undefined) {
      if (this.#answersByRequester.size >= MAX_REQUESTERS) this.#answersByRequester.clear();
      own = new TokenBucket(ANSWERS_PER_REQUESTER_PER_INTERVAL, ANSWER_BURST_PER_REQUESTER, now);
      this.#answersByRequester.set(requester, own);
    }
    // Check both before taking from either, so a refusal costs neither budget.
    own.refill(now, this.#intervalMillis);
    this.#answers.refill(now, this.#intervalMillis);
    if (own.tokens < 1 || this.#answers.tokens < 1) {
      this.#refused++;
      return null;
    }
    own.take(now, this.#intervalMillis);
    this.#answers.take(now, this.#intervalMillis);
    this.#answered++;
    const slot = this.#slot(index);
    const origin =
      this.#originIndexes[slot] === index ? this.#origins[slot]! : this.#settings.memberId;
    return {
      type: 'chunk',
      chunkNumber,
      origin,
      flags: RECOVERED_FLAGS,
      payload,
      signature: NO_SIGNATURE,
    };
  }

  stats(): RepairStats {
    return {
      chunksRepaired: this.#chunksRepaired,
      repairRequestsSent: this.#requestsSent,
      repairsFailed: this.#failed,
      repairRequestsDeferred: this.#deferred,
      repairRequestsReceived: this.#received,
      repairRequestsAnswered: this.#answered,
      repairRequestsUnavailable: this.#unavailable,
      repairRequestsRefused: this.#refused,
    };
  }

  /** Records every index that became overdue since the last step and is not in the buffer. */
  #scan(now: Instant): void {
    const buffer = this.#buffer;
    const { bufferSize } = this.#settings;
    // First step, or the core re-anchored its buffer (resync: indexes start again at 0).
    if (this.#scanFrom === null || this.#scanFrom > buffer.highestIndex + 1) {
      this.#missing.clear();
      this.#scanFrom = buffer.playIndex;
      this.#seenUpTo = buffer.playIndex;
    }
    // Every index below the newest was passed by a later chunk now, if not before.
    let seen = Math.max(this.#seenUpTo ?? buffer.playIndex, buffer.highestIndex - bufferSize + 1);
    for (; seen < buffer.highestIndex; seen++) {
      const slot = this.#slot(seen);
      this.#seenAt[slot] = now;
      this.#seenIndexes[slot] = seen;
    }
    this.#seenUpTo = seen;
    const slack = Math.max(EXPECTED_SLACK_CHUNKS * this.#intervalMillis, EXPECTED_SLACK_MIN_MILLIS);
    let index = Math.max(this.#scanFrom, buffer.playIndex, buffer.highestIndex - bufferSize + 1);
    // Every index a later chunk passed is a candidate; `poll` asks when its time comes.
    for (; index < buffer.highestIndex; index++) {
      if (!buffer.has(index) && !this.#missing.has(index)) {
        const slot = this.#slot(index);
        const seenAt = this.#seenIndexes[slot] === index ? this.#seenAt[slot]! : now;
        const expectedAt = this.#expectedAt(index);
        this.#missing.set(index, {
          attempts: 0,
          asked: [],
          nextAt: expectedAt === null ? Number.POSITIVE_INFINITY : expectedAt + slack,
          seenAt,
          sentAt: now,
          reported: false,
        });
      }
    }
    this.#scanFrom = Math.max(this.#scanFrom, index);
  }

  /**
   * When the chunk at `index` should have come: its likely origin's chunks a period and two
   * periods before came at a steady pace (the source's round robin, rule 1; the origin's
   * relays in the same order, rule 3), so one more step of that pace. Measured from the
   * arrivals, not from the chunk interval: an interval estimate 20% off, times |T| chunks,
   * would ask seconds early or late. Null when the period or those chunks are not known.
   */
  #expectedAt(index: number): Instant | null {
    const period = this.#period;
    if (period <= 0) return null;
    const last = this.#slot(index - period);
    const before = this.#slot(index - 2 * period);
    if (
      this.#originIndexes[last] !== index - period ||
      this.#originIndexes[before] !== index - 2 * period ||
      this.#origins[last] !== this.#origins[before]
    ) {
      return null;
    }
    const arrived = this.#arrivedAt[last]!;
    return arrived + (arrived - this.#arrivedAt[before]!);
  }

  /**
   * Whom to ask: the chunk's likely origin first (the source's round robin repeats every
   * |T| chunks, rule 1, so the origin of index +- period is the likely one; it had the chunk
   * first), else a verified neighbour chosen with the seeded random. Never one asked before.
   * When the likely origin is us, its hop to us lost the chunk and nobody else ever had it:
   * the source (SOURCE), or null for a monitor (it complains instead, LRS). Null as well
   * when nobody is left to ask.
   */
  #chooseTarget(index: number, asked: readonly MemberId[]): MemberId | null {
    const predicted = this.#predictOrigin(index);
    if (predicted === this.#settings.memberId) {
      return this.#settings.askSource && asked.length < MAX_ATTEMPTS ? SOURCE : null;
    }
    const neighbours = this.#neighbours;
    if (predicted !== null && !asked.includes(predicted) && neighbours.isVerified(predicted)) {
      return predicted;
    }
    const pool = neighbours.verifiedIds().filter((memberId) => !asked.includes(memberId));
    if (pool.length === 0) return null;
    return pool[Math.floor(this.#random.next() * pool.length)] ?? null;
  }

  #predictOrigin(index: number): MemberId | null {
    const period = this.#period;
    if (period <= 0) return null;
    for (const candidate of [index - period, index + period, index - 2 * period]) {
      const slot = this.#slot(candidate);
      if (this.#originIndexes[slot] === candidate) return this.#origins[slot]!;
    }
    return null;
  }

  #slot(index: number): number {
    const slot = index % this.#settings.bufferSize;
    return slot < 0 ? slot + this.#settings.bufferSize : slot;
  }
}
