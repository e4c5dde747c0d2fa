import {
  type Chunk,
  type Endpoint,
  type ExternalPeerNotice,
  type Hello,
  type Instant,
  type MemberId,
  unmapIpv4,
} from '@p2psp/wire';
import { EXTERNAL_KEEPALIVE_MILLIS } from './external-onboarding.js';
import type { Neighbour, Neighbours } from './neighbours.js';
import type { PeerContext } from './peer-context.js';

/**
 * An external silent this long is gone (rule 6 for externals, which relay nothing and so
 * have no stream-clock liveness): three keepalive periods, so two lost keepalives in a row
 * never drop a live one.
 */
export const EXTERNAL_TIMEOUT_MILLIS = 3 * EXTERNAL_KEEPALIVE_MILLIS;

/** External peers remembered from the source's notices (ids are never reused). */
const NOTICE_MEMORY = 4096;

/**
 * Seed 000 on a member's side: the externals we feed.
 *
 * - The source's `external-peer` notice names an external: its id and the endpoint the
 *   source sees. From then on that id is never charged debt and never expected to relay.
 * - Its non-exclusive chunk, or its hello, from an endpoint we do not know, teaches it when
 *   its id was in a notice and it comes from the notice's IP address. Not the port: a
 *   symmetric NAT gives each destination another one. Safe: the source bound that id to
 *   that address (TCP join, then a hello from the same host), and the chunk only makes it
 *   a neighbour to verify: it gets nothing until it echoes our hello's nonce at that port,
 *   so a forged chunk aims nothing at anybody. A non-exclusive chunk matching no notice is
 *   dropped and counted (`unknown-external`): no hello, no relay.
 * - Liveness: an external is dropped after `EXTERNAL_TIMEOUT_MILLIS` with nothing from it
 *   (its keepalives, its hellos), never for debt (timer `external-liveness`).
 */
export class ExternalNeighbours {
  readonly #context: PeerContext;
  readonly #neighbours: Neighbours;
  /** Notices: external id -> the address the source sees it at. */
  readonly #notices = new Map<MemberId, string>();
  /** When each external neighbour was last heard from. */
  readonly #heardAt = new Map<MemberId, Instant>();

  constructor(context: PeerContext, neighbours: Neighbours) {
    this.#context = context;
    this.#neighbours = neighbours;
    context.timers.register('external-liveness', (now) => this.#expire(now));
  }

  /** The source names an external (its notice comes in three copies). */
  notice(notice: ExternalPeerNotice, now: Instant): void {
    if (this.#notices.has(notice.memberId)) return;
    this.#notices.set(notice.memberId, unmapIpv4(notice.endpoint.address));
    if (this.#notices.size > NOTICE_MEMORY) {
      const oldest = this.#notices.keys().next();
      if (oldest.done !== true) this.#notices.delete(oldest.value);
    }
    this.#context.stats.externalNotices++;
    this.#neighbours.markExternal(notice.memberId);
    this.#watch(notice.memberId, now);
  }

  /** A non-exclusive chunk from an endpoint we do not know: an external onboarding? */
  onboard(from: Endpoint, chunk: Chunk, now: Instant): void {
    if (this.#notices.get(chunk.origin) !== unmapIpv4(from.address)) {
      this.#context.drop('unknown-external', from, 'chunk');
      return;
    }
    if (this.#neighbours.learnNoticed(from, chunk.origin, 'chunk', now) === null) return;
    this.#context.stats.externalsOnboarded++;
    this.#watch(chunk.origin, now);
  }

  /**
   * A hello from an endpoint we do not know: true when it is an external the source named,
   * from the notice's address (its hello often comes before its onboarding chunk): learnt,
   * answered and challenged like a listed member's. False: not ours to take.
   */
  hello(from: Endpoint, message: Hello, now: Instant): boolean {
    if (this.#notices.get(message.memberId) !== unmapIpv4(from.address)) return false;
    const learnt = this.#neighbours.learnNoticed(from, message.memberId, 'hello', now);
    if (learnt === null) return true;
    this.#neighbours.hello(learnt, message);
    this.#watch(message.memberId, now);
    return true;
  }

  /** Anything from a neighbour: an external's sign of life. */
  heard(neighbour: Neighbour, now: Instant): void {
    if (this.#neighbours.isExternal(neighbour.memberId)) this.#watch(neighbour.memberId, now);
  }

  #watch(memberId: MemberId, now: Instant): void {
    this.#heardAt.set(memberId, now);
    const timers = this.#context.timers;
    if (timers.deadline('external-liveness') === null) {
      timers.set('external-liveness', now + EXTERNAL_TIMEOUT_MILLIS);
    }
  }

  #expire(now: Instant): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [memberId, heardAt] of this.#heardAt) {
      const deadline = heardAt + EXTERNAL_TIMEOUT_MILLIS;
      if (now < deadline) {
        next = Math.min(next, deadline);
        continue;
      }
      this.#heardAt.delete(memberId);
      const neighbour = this.#neighbours.get(memberId);
      if (neighbour !== undefined) this.#neighbours.remove(neighbour, 'silent');
    }
    if (Number.isFinite(next)) this.#context.timers.set('external-liveness', next);
  }
}
