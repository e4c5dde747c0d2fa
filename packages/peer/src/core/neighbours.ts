import { NeighbourAccounting } from '@p2psp/cluster';
import { punchCandidates } from '@p2psp/nat';
import {
  type Endpoint,
  encodeDatagram,
  formatEndpoint,
  type Goodbye,
  type GoodbyeReason,
  type Hello,
  type HelloAck,
  type Instant,
  type JoinAccept,
  type MemberId,
  type MemberInfo,
  NO_MEMBER,
  unmapIpv4,
} from '@p2psp/wire';
import type { Credentials } from './credentials.js';
import type { PeerErrorCode } from './errors.js';
import { debtThresholdFor, type ResolvedPeerConfig } from './peer-config.js';
import type { PeerContext } from './peer-context.js';
import type { NeighbourVia } from './peer-events.js';
import type { NeighbourView } from './peer-types.js';

/**
 * Neighbours that have not answered our nonce yet at the endpoint they now claim (a listed
 * member's hello from another port, an external's onboarding chunk). Capped so that
 * spoofed datagrams cannot crowd out real members.
 */
const MAX_UNVERIFIED = 256;

/**
 * At most one peer-list request per this long for chunks from unlisted endpoints: the
 * source answers one per 2 s per member (PEER_LIST_INTERVAL_MILLIS in @p2psp/source).
 */
const UNLISTED_ASK_MILLIS = 2000;

/** Member ids remembered as gone (ids are never reused by a source). */
const DEPARTED_MEMORY = 4096;

/**
 * Rule 6 on the peer's side: a neighbour silent for this many buffers of chunk times (2B)
 * vanished. A live one relays a source chunk every round of |T| <= B chunk times, so 2B
 * also forgives one lost relay.
 */
const SILENT_BUFFERS = 2;
/**
 * ...and never less than this much stream: 2B chunks are 8 s at 128 kbit/s with B = 64 but
 * 524 ms at 2 Mbit/s, where a member short of upload, fed little by ACS, relays less often.
 */
const SILENT_MIN_MILLIS = 4096;

/** A member this peer knows, as the other components read it. */
export interface Neighbour {
  readonly memberId: MemberId;
  readonly endpoint: Endpoint;
  /**
   * Listed by the source at this endpoint, or (listed elsewhere, or named by an external
   * notice) answered our hello with our nonce here. Only verified neighbours are sent
   * relays: a hello or chunk from a spoofed address must not turn this peer into a stream
   * reflector aimed at that address.
   */
  readonly verified: boolean;
}

/** The table's own record of a neighbour (only `Neighbours` changes it). */
interface Entry extends Neighbour {
  endpoint: Endpoint;
  key: string;
  /** It answered our hello or sent us something: the path works both ways. */
  reachable: boolean;
  verified: boolean;
  /** The nonce of our hellos to it (random), echoed by its hello-ack. */
  readonly nonce: number;
  /** Hello retries left while it is not reachable (NAT hole punching, NTS). */
  hellosLeft: number;
  /**
   * Predicted endpoints of a sequential (or port-preserving) symmetric NAT, helloed with the
   * same nonce until it answers (P2PSP NTS port prediction, at most 32: @p2psp/nat).
   */
  candidates: readonly Endpoint[];
  /**
   * Its own socket, when the source sees it at our public address: behind our NAT, helloed
   * there too, since a NAT need not hairpin (EMS).
   */
  privateEndpoint: Endpoint | null;
}

export interface NeighboursHooks {
  /** A neighbour may be sent relays from now on (listed, or it answered our nonce). */
  verified(neighbour: Neighbour): void;
  /** The source never answered our hellos. */
  fail(code: PeerErrorCode, message: string): void;
}

/**
 * The other members of the cluster as this peer knows them (rules 4, 6 and 7, NTS).
 *
 * - Rule 4: neighbours come only from the source's word: the accept's list and its
 *   peer-list replies (its introductions), verified since the source vouches for the
 *   endpoint; a member's hello carrying the membership credential the source signed for it
 *   (`Credentials`: how later joiners reach us without an introduction each); and the
 *   externals its notices name. A hello or chunk from anybody else is dropped (`unlisted`)
 *   and teaches nothing: a stranger gets no chunk, no reply, no retries. A listed or
 *   credentialed member's hello from another port of its address (a NAT that does not keep
 *   ports) moves it there, to be verified by our hello's nonce.
 * - Hello rounds (timer `hello-round`): our hello to the source until its hello-ack
 *   (bounded: P2PSP_ERR_HELLO_TIMEOUT), and to every neighbour until it answers (this also
 *   opens NATs); towards a symmetric NAT, to its predicted ports as well (NTS).
 * - Rule 6: a goodbye, or the source's word, removes a member for good; a neighbour silent
 *   for 2B chunk times of the stream clock (at least 4 s) is dropped (external and
 *   liberated ones exempt).
 * - Rule 7: the debts (`@p2psp/cluster`'s `NeighbourAccounting`): -1 for each chunk
 *   received here; relaying charges +1 (`charge`) and drops a neighbour past the threshold,
 *   set in stream time at the accept (`debtThresholdFor`): the same stall at every bitrate.
 */
export class Neighbours {
  readonly #context: PeerContext;
  readonly #config: ResolvedPeerConfig;
  readonly #hooks: NeighboursHooks;
  readonly #credentials: Credentials;
  readonly #byId = new Map<MemberId, Entry>();
  readonly #byKey = new Map<string, Entry>();
  /** Neighbours not verified yet (see `MAX_UNVERIFIED`). */
  #unverified = 0;
  /**
   * Members that left or were removed: a relay of theirs that arrives after their goodbye
   * (UDP may reorder) must not teach them back as neighbours.
   */
  readonly #departed = new Set<MemberId>();
  /** External and liberated members (seed 000): exempt from debts and liveness. */
  readonly #externals = new Set<MemberId>();
  /**
   * Debts (rule 7) and liveness (rule 6) per neighbour. Liveness runs on the stream clock
   * (chunk times as chunk numbers advance), not on wall time: a stalled ingest silences
   * everybody and must not count as their silence. Replaced at the accept, before any
   * neighbour is known, once the buffer size gives the liveness timeout.
   */
  #accounting: NeighbourAccounting<MemberId>;
  /** Chunk times elapsed: the sum of the advances of the newest chunk index. */
  #streamClock = 0;
  /** Stream clock at which the liveness check next has work (a cached lower bound). */
  #livenessCheckAt = 0;
  #sourceHelloNonce = 0;
  #sourceHellosLeft = 0;
  #sourceAcknowledged = false;
  /** When we last asked the source for its list because of an unlisted chunk. */
  #unlistedAskedAt: Instant | null = null;
  /** Our address as the source sees it (the accept's `observedEndpoint`), for EMS. */
  #publicAddress: string | null = null;

  constructor(
    context: PeerContext,
    config: ResolvedPeerConfig,
    hooks: NeighboursHooks,
    credentials: Credentials,
  ) {
    this.#context = context;
    this.#config = config;
    this.#hooks = hooks;
    this.#credentials = credentials;
    this.#accounting = new NeighbourAccounting<MemberId>();
    context.timers.register('hello-round', (now) => this.#helloRound(now));
  }

  // -------------------------------------------------------------------------------------
  // Views

  get size(): number {
    return this.#byId.size;
  }

  get(memberId: MemberId): Neighbour | undefined {
    return this.#byId.get(memberId);
  }

  byEndpoint(endpoint: Endpoint): Neighbour | undefined {
    return this.#byKey.get(formatEndpoint(endpoint));
  }

  /** Every neighbour, in the order they were learnt (a copy: relays may drop some). */
  all(): Neighbour[] {
    return [...this.#byId.values()];
  }

  verifiedIds(): MemberId[] {
    return this.all()
      .filter((neighbour) => neighbour.verified)
      .map((neighbour) => neighbour.memberId);
  }

  isVerified(memberId: MemberId): boolean {
    return this.#byId.get(memberId)?.verified === true;
  }

  views(): NeighbourView[] {
    return [...this.#byId.values()].map((neighbour) => ({
      memberId: neighbour.memberId,
      endpoint: neighbour.endpoint,
      debt: this.#accounting.debts.debt(neighbour.memberId),
      reachable: neighbour.reachable,
      verified: neighbour.verified,
    }));
  }

  // -------------------------------------------------------------------------------------
  // Rule 4: learning, hellos, verification

  /** Rule 4 after the accept: hello to the source (it then feeds us) and to every member. */
  start(accept: JoinAccept, now: Instant): void {
    const livenessTimeout = Math.max(
      SILENT_BUFFERS * accept.bufferSize,
      Math.ceil(SILENT_MIN_MILLIS / Math.max(0.01, accept.chunkIntervalMicros / 1000)),
    );
    this.#accounting = new NeighbourAccounting<MemberId>({
      debtThreshold: debtThresholdFor(this.#config, accept.chunkIntervalMicros / 1000),
      livenessTimeout,
    });
    this.#livenessCheckAt = livenessTimeout;
    this.#publicAddress = unmapIpv4(accept.observedEndpoint.address);
    this.#credentials.start(accept);
    this.#sourceHelloNonce = this.#nonce();
    this.#sourceHellosLeft = this.#config.helloAttempts - 1;
    this.#sendHelloToSource();
    for (const member of accept.members) this.#learnFromList(member);
    this.#context.timers.set('hello-round', now + this.#config.helloRetryMillis);
  }

  /** The source's peer-list reply. */
  learnList(members: readonly MemberInfo[], now: Instant): void {
    for (const member of members) this.#learnFromList(member);
    this.#scheduleHelloRound(now);
  }

  /** Chunks from the source prove it has us in its list, whatever became of its hello-ack. */
  acknowledgedBySource(): void {
    this.#sourceAcknowledged = true;
  }

  /**
   * The source's answer to our hello, or a keepalive (nonce 0): either way it has us. An
   * answer carries our credential: the first one sends our hellos again at once, now with
   * it, to the members that do not know us yet.
   */
  sourceHelloAck(message: HelloAck, now: Instant): void {
    const context = this.#context;
    if (message.memberId !== context.memberId) {
      context.drop('unexpected', context.source, 'hello-ack for another member id');
      return;
    }
    if (this.#credentials.fromSource(message.credential, now)) {
      for (const neighbour of this.#byId.values()) {
        if (!neighbour.reachable || !neighbour.verified) this.#sendHello(neighbour);
      }
    }
    if (this.#sourceAcknowledged) return;
    this.#sourceAcknowledged = true;
    context.emit({ name: 'hello-ack', level: 'debug', fields: { from: context.sourceKey } });
  }

  /**
   * A hello from an endpoint we do not know. A member the source did not list to us is
   * taken on the credential its hello carries (`Credentials.vouch`): at the endpoint the
   * credential names, a neighbour at once, answered with a hello-ack; from another port of
   * that address, challenged with our hello (one datagram). Without a valid credential (a
   * stranger, or a joiner whose credential is on its way) it gets nothing and is not
   * learnt: a joiner retries its hellos. A listed one that never answered at its listed
   * endpoint moves here and is challenged with our hello; its hello-ack with our nonce
   * verifies it.
   */
  strangerHello(from: Endpoint, message: Hello, now: Instant): void {
    const context = this.#context;
    if (message.memberId === NO_MEMBER || message.memberId === context.memberId) {
      context.drop('bad-origin', from, 'hello');
      return;
    }
    if (!this.#byId.has(message.memberId)) {
      this.#vouchedHello(from, message, now);
      return;
    }
    const moved = this.#add(message.memberId, from, 'hello', false);
    if (moved === null) {
      context.drop('bad-origin', from, 'hello');
      return;
    }
    moved.reachable = true;
    this.#sendHello(moved);
    this.#scheduleHelloRound(now);
  }

  /**
   * A chunk from an endpoint the source did not list: dropped. It may come from a joiner
   * whose introduction was lost (one copy to members that take any hello), so we ask the
   * source for its list, at most once per `UNLISTED_ASK_MILLIS`: a stranger's chunks make
   * us send nothing to it, and the source one small request now and then.
   */
  unlistedChunk(from: Endpoint, now: Instant): void {
    const context = this.#context;
    context.drop('unlisted', from, 'chunk');
    if (context.state !== 'streaming') return;
    const asked = this.#unlistedAskedAt;
    if (asked !== null && now - asked < UNLISTED_ASK_MILLIS) return;
    this.#unlistedAskedAt = now;
    context.stats.unlistedPeerListRequests++;
    context.sendMessage(context.source, { type: 'peer-list-request', memberId: context.memberId });
  }

  /**
   * An external the source named (its notice, seed 000) wrote to us from an endpoint we do
   * not know (its onboarding chunk, or its hello: a symmetric NAT gives each destination a
   * port of its own): learnt there, unverified, and challenged; null (counted) when it may
   * not be.
   */
  learnNoticed(
    from: Endpoint,
    memberId: MemberId,
    via: 'chunk' | 'hello',
    now: Instant,
  ): Neighbour | null {
    const learnt = this.#add(memberId, from, via, false);
    if (learnt === null) {
      this.#context.drop('bad-origin', from, via);
      return null;
    }
    learnt.reachable = true;
    this.#sendHello(learnt);
    this.#scheduleHelloRound(now);
    return learnt;
  }

  hello(neighbour: Neighbour, message: Hello): void {
    const entry = this.#entry(neighbour);
    if (entry === undefined) return;
    const context = this.#context;
    if (message.memberId !== entry.memberId) {
      context.drop('bad-origin', entry.endpoint, 'hello with another member id');
      return;
    }
    entry.reachable = true;
    context.sendMessage(entry.endpoint, {
      type: 'hello-ack',
      memberId: context.memberId,
      nonce: message.nonce,
    });
  }

  helloAck(neighbour: Neighbour, message: HelloAck): void {
    const entry = this.#entry(neighbour);
    if (entry === undefined) return;
    entry.reachable = true;
    if (!entry.verified && message.memberId === entry.memberId && message.nonce === entry.nonce) {
      this.#verify(entry);
    }
  }

  /**
   * A hello-ack with our nonce from an endpoint we did not know: one of our hellos got
   * through to a port the member's NAT opened towards us (predicted, NTS). It answered our
   * nonce there, so the path is proven both ways: the neighbour moves to that endpoint.
   */
  punchedAck(from: Endpoint, message: HelloAck): boolean {
    const known = this.#byId.get(message.memberId);
    if (known === undefined || known.reachable || known.nonce !== message.nonce) return false;
    const moved = this.#add(message.memberId, from, 'hello-ack', false);
    if (moved === null) return false;
    moved.reachable = true;
    moved.candidates = [];
    if (moved.privateEndpoint === null) this.#context.stats.neighboursPunched++;
    this.#verify(moved);
    return true;
  }

  /** The stream ended: no more hello retries for now (a new neighbour starts them again). */
  streamEnded(): void {
    this.#context.timers.stop('hello-round');
  }

  #vouchedHello(from: Endpoint, message: Hello, now: Instant): void {
    const vouched = this.#credentials.vouch(
      from,
      message.memberId,
      message.credential,
      this.#publicAddress,
      now,
    );
    if (vouched === null) return;
    const neighbour = this.#add(message.memberId, from, 'credential', vouched.atEndpoint);
    if (neighbour === null) {
      this.#context.drop('bad-origin', from, 'hello');
      return;
    }
    this.#context.stats.neighboursCredentialed++;
    neighbour.reachable = true;
    this.#noteRole(vouched.member);
    if (vouched.atEndpoint) {
      this.hello(neighbour, message);
      return;
    }
    this.#sendHello(neighbour);
    this.#scheduleHelloRound(now);
  }

  /** External and liberated peers (seed 000) are sent the stream and never expected to relay. */
  #noteRole(member: MemberInfo): void {
    if (member.flags.external || member.flags.liberated) this.markExternal(member.memberId);
  }

  #learnFromList(member: MemberInfo): void {
    if (member.memberId === this.#context.memberId || member.memberId === NO_MEMBER) return;
    if (this.#byId.has(member.memberId)) return;
    const neighbour = this.#add(member.memberId, member.endpoint, 'list', true);
    if (neighbour === null) return;
    // A symmetric NAT opens a new port towards us, predicted from the endpoint the source
    // saw and the step the member measured (only sequential or preserving ones, NTS).
    if (member.nat !== undefined) {
      const seen = neighbour.key;
      neighbour.candidates = punchCandidates(member.nat, [member.endpoint]).filter(
        (candidate) => formatEndpoint(candidate) !== seen,
      );
    }
    if (
      member.privateEndpoint !== null &&
      unmapIpv4(member.endpoint.address) === this.#publicAddress &&
      formatEndpoint(member.privateEndpoint) !== neighbour.key
    ) {
      neighbour.privateEndpoint = member.privateEndpoint;
    }
    this.#noteRole(member);
    this.#sendHello(neighbour);
  }

  /** Hello retries, one round every `helloRetryMillis` while any hello is unanswered. */
  #helloRound(now: Instant): void {
    let pending = false;
    // Until the source's answer: it carries our credential, so the source's chunks (which
    // also say it has us) do not end the retries while the credential is missing.
    const unanswered = !this.#sourceAcknowledged || this.#credentials.awaited;
    if (unanswered && this.#context.state === 'streaming') {
      if (this.#sourceHellosLeft > 0) {
        this.#sourceHellosLeft--;
        this.#sendHelloToSource();
        pending = true;
      } else if (!this.#sourceAcknowledged) {
        this.#hooks.fail(
          'P2PSP_ERR_HELLO_TIMEOUT',
          `the source ${this.#context.sourceKey} never answered our UDP hello (${this.#config.helloAttempts} attempts): UDP to it is blocked or lost (firewall, NAT)`,
        );
        return;
      }
    }
    let renew = this.#credentials.renewalDue(now);
    for (const neighbour of this.#byId.values()) {
      if (neighbour.reachable && neighbour.verified) continue;
      if (neighbour.hellosLeft <= 0) {
        // Never proved it is at that address: forget it (it may come back with a hello).
        if (!neighbour.verified) this.#forgetUnverified(neighbour);
        continue;
      }
      // Our credential is shown only while it is good: the source's answer renews it.
      if (renew) {
        renew = false;
        this.#context.stats.credentialRenewals++;
        this.#sendHelloToSource();
      }
      this.#sendHello(neighbour);
      pending = true;
    }
    if (pending) this.#context.timers.set('hello-round', now + this.#config.helloRetryMillis);
  }

  /** Starts a round unless one is due already. */
  #scheduleHelloRound(now: Instant): void {
    const timers = this.#context.timers;
    if (timers.deadline('hello-round') === null) {
      timers.set('hello-round', now + this.#config.helloRetryMillis);
    }
  }

  #sendHelloToSource(): void {
    const context = this.#context;
    context.sendMessage(context.source, {
      type: 'hello',
      memberId: context.memberId,
      nonce: this.#sourceHelloNonce,
    });
  }

  #sendHello(neighbour: Entry): void {
    // Before the source's answer nobody but the source knows us: a hello without the
    // credential that answer brings would be dropped by every member it reaches.
    if (this.#credentials.awaited && this.#sourceHellosLeft > 0) return;
    const context = this.#context;
    neighbour.hellosLeft--;
    const credential = this.#credentials.own;
    const hello = encodeDatagram({
      type: 'hello',
      memberId: context.memberId,
      nonce: neighbour.nonce,
      ...(credential === undefined ? {} : { credential }),
    });
    context.sendBytes(neighbour.endpoint, hello);
    if (neighbour.reachable) return;
    const own = neighbour.privateEndpoint;
    if (own !== null && formatEndpoint(own) !== neighbour.key) {
      context.stats.privateHellosSent++;
      context.sendBytes(own, hello);
    }
    // Bounded: at most 32 candidates, for `helloAttempts` rounds, until it answers.
    for (const candidate of neighbour.candidates) {
      context.stats.predictedHellosSent++;
      context.sendBytes(candidate, hello);
    }
  }

  #add(memberId: MemberId, endpoint: Endpoint, via: NeighbourVia, verified: boolean): Entry | null {
    if (this.#departed.has(memberId)) return null;
    const context = this.#context;
    const existing = this.#byId.get(memberId);
    const key = formatEndpoint(endpoint);
    if (existing !== undefined) {
      // Known at another endpoint. Only move it while it never answered there (the list
      // gave an endpoint that does not work from here, e.g. behind the same NAT); a
      // reachable member is not taken over by whoever claims its id.
      if (existing.reachable || this.#byKey.has(key)) return null;
      this.#byKey.delete(existing.key);
      existing.endpoint = { address: endpoint.address, port: endpoint.port };
      existing.key = key;
      this.#byKey.set(key, existing);
      // The new address has to prove itself like any claim (else a spoofed hello could aim
      // the relays of a listed member that never answered at another address).
      if (existing.verified) {
        existing.verified = false;
        this.#unverified++;
      }
      existing.hellosLeft = this.#config.helloAttempts;
      context.emit({
        name: 'neighbour-move',
        level: 'info',
        fields: { memberId, endpoint: key, via },
      });
      return existing;
    }
    if (this.#byId.size >= this.#config.maxNeighbours) return null;
    if (!verified && this.#unverified >= MAX_UNVERIFIED) return null;
    const neighbour: Entry = {
      memberId,
      endpoint: { address: endpoint.address, port: endpoint.port },
      key,
      reachable: false,
      verified,
      nonce: this.#nonce(),
      hellosLeft: this.#config.helloAttempts,
      candidates: [],
      privateEndpoint: null,
    };
    this.#byId.set(memberId, neighbour);
    this.#byKey.set(key, neighbour);
    if (!verified) this.#unverified++;
    context.emit({
      name: 'neighbour-add',
      level: 'debug',
      fields: { memberId, endpoint: key, via, verified, neighbours: this.#byId.size },
    });
    if (verified) this.#hooks.verified(neighbour);
    return neighbour;
  }

  /** A hello's challenge: 32 random bits (seeded), echoed by the hello-ack of the real sender. */
  #nonce(): number {
    return Math.floor(this.#config.random.next() * 0x1_0000_0000) >>> 0;
  }

  /** It answered our nonce: it really is at that address. From now on it gets relays. */
  #verify(neighbour: Entry): void {
    const own = neighbour.privateEndpoint;
    if (own !== null && formatEndpoint(own) === neighbour.key) {
      this.#context.stats.neighboursPrivate++;
    }
    neighbour.verified = true;
    this.#unverified--;
    this.#hooks.verified(neighbour);
  }

  #forgetUnverified(neighbour: Entry): void {
    if (this.#byId.get(neighbour.memberId) !== neighbour) return;
    this.#byId.delete(neighbour.memberId);
    this.#byKey.delete(neighbour.key);
    this.#accounting.remove(neighbour.memberId);
    this.#unverified--;
    this.#context.emit({
      name: 'neighbour-drop',
      level: 'debug',
      fields: { memberId: neighbour.memberId, endpoint: neighbour.key, reason: 'unverified' },
    });
  }

  /** The record behind a neighbour, if it is still the table's current one for its id. */
  #entry(neighbour: Neighbour): Entry | undefined {
    const entry = this.#byId.get(neighbour.memberId);
    return entry === neighbour ? entry : undefined;
  }

  // -------------------------------------------------------------------------------------
  // Rules 6 and 7: liveness, debts, departures

  /** Anything from it (a chunk, a hello, a repair request...) says it is alive (rule 6). */
  heard(neighbour: Neighbour): void {
    this.#accounting.heard(neighbour.memberId, this.#streamClock);
  }

  /** Neighbours that relayed to us, then nothing for `chunkTimes` of the stream clock. */
  silentFor(chunkTimes: number): MemberId[] {
    return this.#accounting.silent(this.#streamClock, chunkTimes);
  }

  /**
   * A chunk from it was accepted: it reaches us, and when the chunk was new to us (`fresh`)
   * rule 7 credits it -1 (floored at -threshold, so that a neighbour that was generous and
   * then stops relaying is still dropped within 2 x threshold); a copy of what we hold, an
   * echo of our own relay, earns nothing. Liveness watches neighbours that relayed to us
   * (rule 6: one that stops has vanished); one that never relays is a matter for its debt,
   * or an external.
   */
  received(neighbour: Neighbour, fresh: boolean): void {
    const entry = this.#entry(neighbour);
    if (entry !== undefined) entry.reachable = true;
    const memberId = neighbour.memberId;
    if (!this.#accounting.has(memberId)) {
      this.#accounting.add(memberId, this.#streamClock, {
        external: this.#externals.has(memberId),
      });
    }
    if (fresh) this.#accounting.received(memberId, this.#streamClock);
    else this.#accounting.heard(memberId, this.#streamClock);
  }

  /** Seed 000: an external member is sent the stream and never expected to relay. */
  markExternal(memberId: MemberId): void {
    this.#externals.add(memberId);
    this.#accounting.markExternal(memberId);
  }

  isExternal(memberId: MemberId): boolean {
    return this.#externals.has(memberId);
  }

  /** Rule 7: +1 for a chunk sent to it. True when that takes it past the threshold. */
  charge(neighbour: Neighbour): boolean {
    return this.#accounting.debts.sent(neighbour.memberId).overThreshold;
  }

  /** The stream clock advanced by `chunkTimes` (the newest chunk index moved). */
  streamAdvanced(chunkTimes: number): void {
    this.#streamClock += chunkTimes;
    if (this.#streamClock >= this.#livenessCheckAt) this.#dropSilent();
  }

  goodbye(neighbour: Neighbour, message: Goodbye): void {
    if (message.memberId !== neighbour.memberId) {
      this.#context.drop('bad-origin', neighbour.endpoint, 'goodbye for another member');
      return;
    }
    this.remove(neighbour, message.reason);
  }

  /** The source says another member left or was removed. */
  departed(memberId: MemberId, reason: GoodbyeReason): void {
    const neighbour = this.#byId.get(memberId);
    if (neighbour !== undefined) this.remove(neighbour, reason);
    else this.#markDeparted(memberId);
  }

  remove(neighbour: Neighbour, reason: GoodbyeReason | 'debt' | 'silent'): void {
    const entry = this.#entry(neighbour);
    if (entry === undefined) return;
    const context = this.#context;
    this.#byId.delete(entry.memberId);
    this.#byKey.delete(entry.key);
    if (!entry.verified) this.#unverified--;
    const debt = this.#accounting.debts.debt(entry.memberId);
    this.#accounting.remove(entry.memberId);
    this.#externals.delete(entry.memberId);
    // Dropped for debt or silence, it may come back by relaying again (rule 4); gone, it
    // may not.
    if (reason !== 'debt' && reason !== 'silent') this.#markDeparted(entry.memberId);
    if (reason === 'silent') {
      context.stats.neighboursSilent++;
      context.emit({
        name: 'neighbour-drop',
        level: 'warn',
        fields: {
          memberId: entry.memberId,
          endpoint: entry.key,
          reason: 'silent',
          chunkTimes: this.#accounting.livenessTimeout ?? null,
        },
      });
      return;
    }
    if (reason === 'debt') {
      context.stats.neighboursDropped++;
      context.emit({
        name: 'neighbour-drop',
        level: 'warn',
        fields: {
          memberId: entry.memberId,
          endpoint: entry.key,
          reason: 'debt',
          debt,
          threshold: this.#accounting.debts.threshold,
        },
      });
      return;
    }
    context.emit({
      name: 'peer-leave',
      level: 'info',
      fields: {
        memberId: entry.memberId,
        endpoint: entry.key,
        reason,
        neighbours: this.#byId.size,
      },
    });
  }

  /**
   * Rule 6 on the peer's side: a neighbour we heard nothing from for 2B chunk times (at
   * least 4 s of stream) vanished without goodbye; dropped without waiting for the source's
   * word. External and liberated members are exempt (they relay nothing).
   */
  #dropSilent(): void {
    for (const drop of this.#accounting.expireSilent(this.#streamClock)) {
      const neighbour = this.#byId.get(drop.neighbour);
      if (neighbour !== undefined) this.remove(neighbour, 'silent');
    }
    const timeout = this.#accounting.livenessTimeout ?? Number.POSITIVE_INFINITY;
    this.#livenessCheckAt = this.#accounting.nextDeadline() ?? this.#streamClock + timeout;
  }

  #markDeparted(memberId: MemberId): void {
    this.#departed.add(memberId);
    if (this.#departed.size > DEPARTED_MEMORY) {
      const oldest = this.#departed.values().next();
      if (oldest.done !== true) this.#departed.delete(oldest.value);
    }
  }
}
