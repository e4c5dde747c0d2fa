import type { Instant, JoinAccept } from '@p2psp/wire';
import type { Neighbours } from './neighbours.js';
import type { PeerContext } from './peer-context.js';
import type { Relay } from './relay.js';

/**
 * Keepalives from an external to each member, this often. Linux forgets an unreplied UDP
 * mapping after 30 s (nf_conntrack_udp_timeout) and home routers after 30 s to 5 min
 * (RFC 4787 REQ-5 asks for at least 2 min, many do less): 10 s keeps the mapping open with
 * two lost keepalives to spare.
 */
export const EXTERNAL_KEEPALIVE_MILLIS = 10_000;

/** The peer's role as the source's accept gave it (rule 4: our own entry's flags). */
export type PeerRole = 'peer' | 'monitor' | 'external';

/**
 * Seed 000 on the external's side. The source sends us one chunk flagged non-exclusive and
 * nothing more: we relay it at once to every member we know, which opens our NAT towards
 * each (a symmetric NAT opens one port per member); the members then send us the stream.
 * Our mappings stay open with keepalives (timer `external-keepalive`): a hello-ack with
 * nonce 0, the same sign of life the source sends its members, which a member takes from a
 * neighbour silently and drops (counted) from anybody else, so a forged one makes nobody
 * send anything. One small datagram per verified member per round: at most
 * `maxNeighbours` per 10 s.
 */
export class ExternalOnboarding {
  readonly #context: PeerContext;
  readonly #neighbours: Neighbours;
  readonly #relay: Relay;
  #role: PeerRole = 'peer';

  constructor(context: PeerContext, neighbours: Neighbours, relay: Relay) {
    this.#context = context;
    this.#neighbours = neighbours;
    this.#relay = relay;
    context.timers.register('external-keepalive', (now) => this.#keepalive(now));
  }

  get role(): PeerRole {
    return this.#role;
  }

  /** Rule 4: our own entry in the accept says whether we are external. */
  start(accept: JoinAccept, monitor: boolean, now: Instant): void {
    const self = accept.members.find((member) => member.memberId === accept.memberId);
    this.#role = self?.flags.external === true ? 'external' : monitor ? 'monitor' : 'peer';
    if (this.#role === 'external') {
      this.#context.timers.set('external-keepalive', now + EXTERNAL_KEEPALIVE_MILLIS);
    }
  }

  /** Our onboarding chunk (the datagram as the source sent it): once to every member, now. */
  onboard(datagram: Uint8Array): void {
    this.#context.stats.onboardingChunks++;
    this.#relay.relayToAllNow(datagram);
  }

  #keepalive(now: Instant): void {
    const context = this.#context;
    if (context.state !== 'streaming') return;
    context.timers.set('external-keepalive', now + EXTERNAL_KEEPALIVE_MILLIS);
    for (const member of this.#neighbours.all()) {
      if (!member.verified) continue;
      context.stats.keepalivesSent++;
      context.sendMessage(member.endpoint, {
        type: 'hello-ack',
        memberId: context.memberId,
        nonce: 0,
      });
    }
  }
}
