import { type Endpoint, formatEndpoint, sameEndpoint } from '@p2psp/wire';

/**
 * Redirects a peer follows in a row: a tree of clusters of C members is log_C(listeners)
 * deep, so 8 hops reach C^8 listeners (10^16 at C = 100); more means a misconfigured tree.
 */
export const MAX_REDIRECTS = 8;

/**
 * The sources one join went through, its entry first (trees of clusters): a full source
 * refuses with `redirect` and the peer joins the child source it names. Bounded
 * (`MAX_REDIRECTS`) and loop-free: a source already on the path is not joined again.
 */
export class RedirectPath {
  readonly #entry: Endpoint;
  #path: Endpoint[];

  constructor(entry: Endpoint) {
    this.#entry = entry;
    this.#path = [entry];
  }

  /** The source to join now: the entry, or the last redirect's. */
  get current(): Endpoint {
    return this.#path.at(-1) ?? this.#entry;
  }

  /** The join came here through at least one redirect. */
  get redirected(): boolean {
    return this.#path.length > 1;
  }

  /** Takes the redirect to `to`; returns why not (a loop, too many hops), or null. */
  follow(to: Endpoint): string | null {
    if (this.#path.some((source) => sameEndpoint(source, to))) {
      return `redirect loop: ${formatEndpoint(to)} is already on the path ${this.view().join(' -> ')}`;
    }
    if (this.#path.length > MAX_REDIRECTS) {
      return `more than ${MAX_REDIRECTS} redirects in a row (${this.view().join(' -> ')})`;
    }
    this.#path.push(to);
    return null;
  }

  /** A new join starts at the entry again: the tree may have changed since. */
  restart(): void {
    this.#path = [this.#entry];
  }

  /** `HOST:PORT` of each source, the entry first. */
  view(): string[] {
    return this.#path.map(formatEndpoint);
  }
}
