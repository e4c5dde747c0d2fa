import type { Instant } from '@p2psp/wire';

/** The join rate's bucket holds this many seconds of joins: a crowd at the stream's start. */
export const JOIN_BURST_SECONDS = 5;

export interface JoinLimitsConfig {
  readonly maxMembersPerAddress: number;
  readonly maxJoinsPerAddress: number;
  readonly joinsPerSecond: number;
}

/**
 * Sybils and join floods: what one host, and everybody together, may cost the source.
 *
 * - Joins in progress per IP address (TCP open, no hello yet): beyond, the connection is
 *   closed at once (a flood of half-open joins would hold the source's join state).
 * - Members per IP address (fed, external, or accepted and not yet helloed): beyond, the
 *   join is refused. Several honest viewers share an address behind a NAT (a household, a
 *   carrier-grade NAT), so this bounds sybils per host, it does not forbid sharing.
 * - Joins per second, for all addresses together (a token bucket of `JOIN_BURST_SECONDS`
 *   of joins): each accept carries the member list, so a flood costs the source upload.
 *
 * Pure: the caller passes the counts and the time; `Joins` applies the verdicts.
 */
export class JoinLimits {
  readonly #config: JoinLimitsConfig;
  #tokens: number;
  #filledAt: Instant | null = null;

  constructor(config: JoinLimitsConfig) {
    this.#config = config;
    this.#tokens = config.joinsPerSecond * JOIN_BURST_SECONDS;
  }

  /** A new connection from `address`, which has `inProgress` joins open: why not, or null. */
  connection(address: string, inProgress: number): string | null {
    const limit = this.#config.maxJoinsPerAddress;
    if (inProgress < limit) return null;
    return `${inProgress} joins in progress from ${address} (maxJoinsPerAddress ${limit})`;
  }

  /**
   * A join request from `address`, which has `members` members already: the refusal's
   * message, or null when it may be admitted (it then takes one token of the join rate).
   */
  request(address: string, members: number, now: Instant): string | null {
    const config = this.#config;
    if (members >= config.maxMembersPerAddress) {
      return `too many members from ${address}: ${members} (the source takes at most ${config.maxMembersPerAddress} per address)`;
    }
    const capacity = config.joinsPerSecond * JOIN_BURST_SECONDS;
    if (this.#filledAt !== null) {
      const refill = ((now - this.#filledAt) / 1000) * config.joinsPerSecond;
      this.#tokens = Math.min(capacity, this.#tokens + Math.max(0, refill));
    }
    this.#filledAt = now;
    if (this.#tokens < 1) {
      return `too many joins: the source takes ${config.joinsPerSecond} per second; try again in a few seconds`;
    }
    this.#tokens--;
    return null;
  }
}
