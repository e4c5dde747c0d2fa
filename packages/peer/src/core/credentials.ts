import {
  credentialSignedBytes,
  decodeCredential,
  type Endpoint,
  formatEndpoint,
  type Instant,
  type JoinAccept,
  type MemberId,
  type MemberInfo,
  unmapIpv4,
  type Verifier,
} from '@p2psp/wire';
import type { PeerContext } from './peer-context.js';
import type { StreamTiming } from './stream-timing.js';

/** A member a credential vouches for, and whether its hello came from the endpoint it names. */
export interface Vouched {
  readonly member: MemberInfo;
  /**
   * The hello came from the endpoint the source saw (or, behind our own public address, the
   * member's own one: EMS): it may be sent relays at once. Else it came from another port of
   * that address (a NAT that gives each destination its own port) and must answer our
   * hello's nonce first.
   */
  readonly atEndpoint: boolean;
}

/**
 * Membership credentials on the peer's side (docs/security.md): ours, from the source's
 * hello-ack, shown in our hellos to members; and the ones in other members' hellos, checked
 * under the source's key from the accept, so a member the source did not introduce to us
 * becomes a neighbour on the source's word, and a stranger does not.
 *
 * Expiry is on the stream's clock: a credential is good while the source's schedule (its
 * chunks to us, `StreamTiming`) has not reached its `expiresAt`. Ours is renewed, by a hello
 * to the source, when we need to show it and half its life is gone.
 */
export class Credentials {
  readonly #context: PeerContext;
  readonly #verifier: Verifier | null;
  readonly #timing: StreamTiming;
  #sourceKey: Uint8Array = new Uint8Array(0);
  #own: Uint8Array | undefined;
  #ownExpiresAt = 0;
  /** Chunks before `#ownExpiresAt` below which ours is renewed: half its life when it came. */
  #renewWithin = 0;

  constructor(context: PeerContext, verifier: Verifier | null, timing: StreamTiming) {
    this.#context = context;
    this.#verifier = verifier;
    this.#timing = timing;
  }

  /** Rule 4: the key the source signs with (empty: it signs nothing). */
  start(accept: JoinAccept): void {
    this.#sourceKey = accept.sourceKey;
  }

  /** The source signs credentials and we check them, but ours has not come yet. */
  get awaited(): boolean {
    return this.#verifier !== null && this.#sourceKey.length > 0 && this.#own === undefined;
  }

  /** Ours, for our hellos to members; undefined before the source's ack or without a key. */
  get own(): Uint8Array | undefined {
    return this.#own;
  }

  /**
   * The credential in the source's hello-ack: ours when it names us and is signed. True
   * when it is our first (the hellos held back for it can go out now).
   */
  fromSource(credential: Uint8Array | undefined, now: Instant): boolean {
    if (credential === undefined) return false;
    const context = this.#context;
    const checked = this.#checked(credential, context.source, 'hello-ack');
    if (checked === null) return false;
    if (
      checked.member.memberId !== context.memberId ||
      !this.#signed(credential, checked.signature)
    ) {
      context.drop('unexpected', context.source, 'hello-ack with a credential not ours');
      return false;
    }
    const first = this.#own === undefined;
    this.#own = credential.slice();
    this.#ownExpiresAt = checked.expiresAt;
    this.#renewWithin = Math.max(0, this.#timing.aheadOfSchedule(checked.expiresAt, now) / 2);
    return first;
  }

  /** Ours is past half its life (or gone): renew it before showing it. */
  renewalDue(now: Instant): boolean {
    if (this.#own === undefined) return false;
    return this.#timing.aheadOfSchedule(this.#ownExpiresAt, now) <= this.#renewWithin;
  }

  /**
   * The credential in a hello from `from`, an endpoint no listed member has: the member it
   * vouches for, or null (dropped and counted as `unlisted`: no credential, no key to check
   * it with, malformed, another member's, another address's, expired, or not signed by the
   * source).
   */
  vouch(
    from: Endpoint,
    memberId: MemberId,
    credential: Uint8Array | undefined,
    publicAddress: string | null,
    now: Instant,
  ): Vouched | null {
    const context = this.#context;
    if (credential === undefined) {
      context.drop('unlisted', from, 'hello');
      return null;
    }
    const checked = this.#checked(credential, from, 'hello');
    if (checked === null) return null;
    const member = checked.member;
    const address = unmapIpv4(from.address);
    const key = formatEndpoint(from);
    let atEndpoint = formatEndpoint(member.endpoint) === key;
    // EMS: a member behind our own public address writes from its private endpoint.
    if (
      !atEndpoint &&
      member.privateEndpoint !== null &&
      unmapIpv4(member.endpoint.address) === publicAddress &&
      formatEndpoint(member.privateEndpoint) === key
    ) {
      atEndpoint = true;
    }
    if (member.memberId !== memberId) {
      context.drop('unlisted', from, 'hello with another member credential');
      return null;
    }
    if (!atEndpoint && unmapIpv4(member.endpoint.address) !== address) {
      context.drop('unlisted', from, 'hello with the credential of another address');
      return null;
    }
    if (this.#timing.aheadOfSchedule(checked.expiresAt, now) <= 0) {
      context.drop('unlisted', from, 'hello with an expired credential');
      return null;
    }
    // Last, the signature: the costly check comes after every cheap one.
    if (!this.#signed(credential, checked.signature)) {
      context.drop('unlisted', from, 'hello with a credential the source did not sign');
      return null;
    }
    return { member, atEndpoint };
  }

  #checked(credential: Uint8Array, from: Endpoint, what: string) {
    if (this.#verifier === null || this.#sourceKey.length === 0) {
      this.#context.drop('unlisted', from, `${what} with a credential we cannot check`);
      return null;
    }
    const decoded = decodeCredential(credential);
    if (!decoded.ok) {
      this.#context.drop('malformed', from, `${what} credential: ${decoded.error.code}`);
      return null;
    }
    return decoded.message;
  }

  #signed(credential: Uint8Array, signature: Uint8Array): boolean {
    return (
      this.#verifier?.verify(this.#sourceKey, credentialSignedBytes(credential), signature) === true
    );
  }
}
