import { isStunDatagram } from '@p2psp/nat';
import {
  type Chunk,
  type CoreInput,
  type CoreOutput,
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  type GoodbyeReason,
  type Instant,
  type JoinAccept,
  type MemberId,
  NO_MEMBER,
  type SansIoCore,
  sameEndpoint,
} from '@p2psp/wire';
import { Complaints } from './complaints.js';
import { Credentials } from './credentials.js';
import type { PeerErrorCode } from './errors.js';
import { ExternalNeighbours } from './external-neighbours.js';
import { ExternalOnboarding } from './external-onboarding.js';
import { Join } from './join.js';
import { type Neighbour, Neighbours } from './neighbours.js';
import { type PeerConfig, type ResolvedPeerConfig, resolvePeerConfig } from './peer-config.js';
import { PeerContext } from './peer-context.js';
import type { PeerEvent } from './peer-events.js';
import type { NeighbourView, PeerState, PeerStats } from './peer-types.js';
import { PlayOut } from './play-out.js';
import { Relay } from './relay.js';
import { type ChunkAction, SignedChunks, SOURCE_SENDER } from './signed-chunks.js';
import { SilenceReports } from './silence-reports.js';
import { StreamMetadata } from './stream-metadata.js';
import { StreamTiming } from './stream-timing.js';

/**
 * Copies of our goodbye: a single unacknowledged datagram, and a lost one leaves the source
 * feeding a peer that left until its liveness timeout. Duplicates are ignored.
 */
const GOODBYE_COPIES = 3;

/**
 * The P2PSP peer as a sans-IO core: a dispatcher over one component per set of rules.
 *
 * - `Join` (rule 4 over TCP): connect, join request, the accept or a refusal, join timeout.
 * - `Neighbours` (rules 4, 6, 7, NTS): the member table, hellos and their rounds,
 *   verification, NAT port prediction, departures, liveness on the stream clock, debts.
 * - `Relay` (rules 2, 3, 7, LRS): paced relays of source chunks, catch-up relays, the LRS
 *   broadcast; every relay is charged and checked against the debt threshold there.
 * - `PlayOut` (rule 5, RMS-lite): the buffer, the window, the play-out and its delay, and
 *   the repair of chunks lost on the last hop.
 * - `Complaints` (rule 8): a monitor's reports of lost chunks.
 * - `ExternalOnboarding` (seed 000, as an external): our one non-exclusive chunk relayed to
 *   every member, keepalives that hold our NAT open towards them.
 * - `ExternalNeighbours` (seed 000, as a member): the externals the source names, learnt
 *   from their non-exclusive chunk, fed without debt, dropped only after silence.
 *
 * The core decodes each datagram once and hands it to the component whose rule it is; the
 * components share a `PeerContext` (outputs, timers, counters, state) and the
 * `StreamTiming`. The core itself keeps the peer's life (rule 6): the stats report to the
 * source, the source's goodbye or silence, the drain, and our own goodbye.
 */
export class PeerCore implements SansIoCore<PeerEvent> {
  readonly config: ResolvedPeerConfig;

  readonly #context: PeerContext;
  readonly #timing = new StreamTiming();
  readonly #join: Join;
  readonly #neighbours: Neighbours;
  readonly #relay: Relay;
  readonly #complaints: Complaints;
  readonly #playOut: PlayOut;
  readonly #onboarding: ExternalOnboarding;
  readonly #externals: ExternalNeighbours;
  readonly #metadata: StreamMetadata;
  readonly #silenceReports: SilenceReports;
  readonly #signedChunks: SignedChunks;
  #stopReason: string | null = null;

  constructor(config: PeerConfig) {
    this.config = resolvePeerConfig(config);
    const resolved = this.config;
    const context = new PeerContext(resolved.source);
    this.#context = context;
    // Wiring: one line per component. Timers fire in the order they are registered here.
    this.#join = new Join(context, resolved, {
      accepted: (accept, now) => this.#onAccept(accept, now),
      fail: (code, message) => this.#fail(code, message),
      finish: (reason) => this.#finish(reason),
    });
    this.#neighbours = new Neighbours(
      context,
      resolved,
      {
        verified: (neighbour) => this.#relay.join(neighbour, this.#playOut.playIndex),
        fail: (code, message) => this.#fail(code, message),
      },
      new Credentials(context, resolved.verifier, this.#timing),
    );
    this.#relay = new Relay(context, resolved, this.#neighbours, this.#timing);
    this.#complaints = new Complaints(context, resolved.role);
    this.#playOut = new PlayOut(
      context,
      resolved,
      this.#timing,
      this.#neighbours,
      this.#complaints,
      {
        advanced: (chunkTimes) => {
          this.#neighbours.streamAdvanced(chunkTimes);
          this.#silenceReports.advanced(chunkTimes);
        },
        delayShortened: (delay) => this.#relay.retune(delay),
        digestFor: (chunkNumber) => this.#signedChunks.digestFor(chunkNumber),
      },
    );
    this.#onboarding = new ExternalOnboarding(context, this.#neighbours, this.#relay, this.#timing);
    this.#externals = new ExternalNeighbours(context, this.#neighbours);
    this.#metadata = new StreamMetadata(context);
    this.#silenceReports = new SilenceReports(context, this.#neighbours);
    this.#signedChunks = new SignedChunks(
      context,
      resolved.verifier !== null && resolved.sha256 !== null
        ? { verifier: resolved.verifier, sha256: resolved.sha256 }
        : null,
      (chunks) => this.#playOut.signedRun(chunks),
    );
    context.timers.register('report', (now) => this.#report(now));
    context.timers.register('drain', () => this.#endOfStream());
    context.timers.register('source-silence', () => this.#sourceSilent());
  }

  // -------------------------------------------------------------------------------------
  // SansIoCore

  handle(input: CoreInput, now: Instant): void {
    this.#join.start(now);
    this.#route(input, now);
    this.#playOut.followRepair();
  }

  handleTimeout(now: Instant): void {
    this.#join.start(now);
    if (this.#context.state === 'stopped') return;
    this.#context.timers.fire(now);
    this.#playOut.followRepair();
  }

  pollTimeout(): Instant | undefined {
    return this.#context.nextTimeout();
  }

  pollOutput(): CoreOutput<PeerEvent> | undefined {
    return this.#context.poll();
  }

  // -------------------------------------------------------------------------------------
  // Views

  get state(): PeerState {
    return this.#context.state;
  }

  /** We are one of the cluster's monitors (rule 8), as the source's accept said. */
  get monitor(): boolean {
    return this.#complaints.monitor;
  }

  /** The member id the source gave us (NO_MEMBER before the accept). */
  get memberId(): MemberId {
    return this.#context.memberId;
  }

  /** Where the source's `redirect` refusal sent us (trees of clusters), or null. */
  get redirect(): Endpoint | null {
    return this.#join.redirect;
  }

  neighbours(): readonly NeighbourView[] {
    return this.#neighbours.views();
  }

  stats(): PeerStats {
    const context = this.#context;
    return {
      state: context.state,
      role: this.#onboarding.role,
      memberId: context.memberId,
      ...context.stats,
      datagramsDropped: { ...context.drops },
      neighbours: this.#neighbours.size,
      bufferFill: this.#playOut.bufferFill,
      playChunkNumber: this.#playOut.playChunkNumber,
      chunkIntervalMillis: this.#timing.chunkIntervalMillis,
      monitorCount: this.#complaints.monitorCount,
      mediaType: this.#join.mediaType,
      stopReason: this.#stopReason,
      repair: this.#playOut.repairStats(),
      verification: this.#signedChunks.stats(),
    };
  }

  // -------------------------------------------------------------------------------------
  // Dispatch: which component gets this input?

  #route(input: CoreInput, now: Instant): void {
    switch (input.type) {
      case 'datagram':
        this.#onDatagram(input.from, input.bytes, now);
        return;
      case 'connection-open':
        this.#join.open(input.connection);
        return;
      case 'connection-data':
        this.#join.data(input.connection, input.bytes, now);
        return;
      case 'connection-closed':
        this.#join.closed(input.connection, input.reason);
        return;
      case 'ingest-data':
      case 'ingest-restart':
      case 'ingest-metadata':
      case 'ingest-end':
        // A peer has no ingest; a driver that sends one is misconfigured, not attacked.
        this.#context.emit({ name: 'input-ignore', level: 'warn', fields: { type: input.type } });
        return;
      case 'stop':
        this.#stop();
        return;
    }
  }

  /** Rule 4: the accept starts every component, in this order (their outputs too). */
  #onAccept(accept: JoinAccept, now: Instant): void {
    const context = this.#context;
    context.memberId = accept.memberId;
    const monitor = this.#complaints.start(accept);
    const verifying = this.#signedChunks.start(accept);
    this.#timing.start(accept.chunkIntervalMicros, accept.nextChunkNumber, now);
    const delay = this.#playOut.start(accept, now);
    if (verifying) this.#playOut.verifying();
    this.#relay.start(delay);
    context.state = 'streaming';
    this.#join.joined(accept, {
      chunkIntervalMillis: this.#timing.chunkIntervalMillis,
      playoutDelayChunks: delay.chunks,
      monitor,
    });
    this.#neighbours.start(accept, now);
    this.#onboarding.start(accept, monitor, now);
    this.#heardFromSource(now);
    if (this.config.reportIntervalMillis > 0) {
      context.timers.set('report', now + this.config.reportIntervalMillis);
    }
  }

  #onDatagram(from: Endpoint, bytes: Uint8Array, now: Instant): void {
    const context = this.#context;
    // NAT detection shares this socket (RFC 8489 section 5 demultiplexing): a late STUN
    // answer or retransmission is not a P2PSP datagram, nor an error worth a warning.
    if (isStunDatagram(bytes)) {
      context.stats.stunDatagramsIgnored++;
      return;
    }
    if (context.state !== 'streaming' && context.state !== 'draining') {
      context.drop('not-joined', from);
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) {
      context.drop('malformed', from, decoded.error.code);
      return;
    }
    const message = decoded.message;
    if (sameEndpoint(from, context.source)) {
      this.#onSourceMessage(message, bytes, now);
      return;
    }
    const neighbour = this.#neighbours.byEndpoint(from);
    if (neighbour !== undefined) this.#onNeighbourMessage(neighbour, message, now);
    else this.#onStrangerMessage(from, message, now);
  }

  #onSourceMessage(message: DatagramMessage, bytes: Uint8Array, now: Instant): void {
    const source = this.#context.source;
    this.#heardFromSource(now);
    switch (message.type) {
      case 'chunk': {
        this.#neighbours.acknowledgedBySource();
        // The source's schedule follows what it cuts now; an LRS resend is an old chunk.
        if (!message.flags.recovered) this.#timing.anchorSchedule(message.chunkNumber, now);
        if (message.flags.nonExclusive) {
          // Seed 000: we are external; this chunk is ours to play and to relay once to all.
          // The relay opens our NAT towards the members and goes at once, verified or not:
          // they only learn us from it, and verify before storing.
          const index = this.#playOut.acceptableIndex(message, source, false, now);
          if (index !== null) {
            this.#admit(
              message,
              source,
              SOURCE_SENDER,
              index,
              false,
              (stored, at) => this.#storeChunk(message, stored, null, null, at),
              now,
            );
          }
          this.#onboarding.onboard(bytes, now);
          return;
        }
        if (message.flags.recovered) {
          // LRS: every monitor lost it and the source resent it through us. Maybe too late
          // for our own play-out (monitors play early), but in time for the others: relay
          // it to everybody at once, not paced, and without disturbing the paced relays.
          // Relayed only once it is valid, stored only if still in time for us.
          this.#signedChunks.admit(
            message,
            source,
            SOURCE_SENDER,
            (at) => {
              const late = this.#playOut.isLate(message.chunkNumber);
              const index = late ? null : this.#playOut.acceptableIndex(message, source, false, at);
              if (index !== null) this.#storeChunk(message, index, null, null, at);
              this.#relay.relayToAllNow(bytes);
            },
            now,
          );
          return;
        }
        const index = this.#playOut.acceptableIndex(message, source, true, now);
        if (index === null) return;
        // An external the source feeds itself (no member reaches it) relays none of it.
        const relay = this.#onboarding.fedByMembers ? null : bytes;
        // Rule 3's pacing measures the source's chunks as they arrive, verified or not yet.
        if (relay !== null) this.#timing.sourceChunk(index, now);
        this.#admit(
          message,
          source,
          SOURCE_SENDER,
          index,
          true,
          (stored, at) => this.#storeChunk(message, stored, null, relay, at),
          now,
        );
        return;
      }
      case 'hello-ack':
        this.#neighbours.sourceHelloAck(message, now);
        return;
      case 'goodbye':
        this.#onSourceGoodbye(message.memberId, message.reason, now);
        return;
      case 'peer-list-reply':
        this.#neighbours.learnList(message.members, now);
        return;
      case 'external-peer':
        this.#externals.notice(message, now);
        return;
      case 'stream-metadata':
        this.#metadata.receive(message);
        return;
      default:
        this.#context.drop('unexpected', source, message.type);
    }
  }

  #onNeighbourMessage(neighbour: Neighbour, message: DatagramMessage, now: Instant): void {
    this.#neighbours.heard(neighbour);
    this.#externals.heard(neighbour, now);
    this.#onboarding.heard(neighbour, message, now);
    switch (message.type) {
      case 'chunk': {
        const index = this.#playOut.acceptableIndex(message, neighbour.endpoint, false, now);
        if (index === null) return;
        this.#admit(
          message,
          neighbour.endpoint,
          neighbour.memberId,
          index,
          false,
          (stored, at) =>
            // A neighbour dropped while its chunk waited for its digest is credited nothing.
            this.#storeChunk(
              message,
              stored,
              this.#neighbours.get(neighbour.memberId) === neighbour ? neighbour : null,
              null,
              at,
            ),
          now,
        );
        return;
      }
      case 'hello':
        this.#neighbours.hello(neighbour, message);
        return;
      case 'hello-ack':
        this.#neighbours.helloAck(neighbour, message);
        return;
      case 'chunk-request':
        this.#playOut.chunkRequest(neighbour, message, now);
        return;
      case 'goodbye':
        this.#neighbours.goodbye(neighbour, message);
        return;
      default:
        this.#context.drop('unexpected', neighbour.endpoint, message.type);
    }
  }

  /**
   * Rule 4: members are learnt from the source only. A stranger's hellos and chunks are
   * dropped (`unlisted`; for chunks, now and then we ask the source for its list, in case
   * an introduction was lost), except an external's that the source's notice named
   * (seed 000).
   */
  #onStrangerMessage(from: Endpoint, message: DatagramMessage, now: Instant): void {
    const neighbours = this.#neighbours;
    switch (message.type) {
      case 'hello':
        if (!this.#externals.hello(from, message, now))
          neighbours.strangerHello(from, message, now);
        return;
      case 'chunk':
        if (message.flags.nonExclusive) this.#externals.onboard(from, message, now);
        else neighbours.unlistedChunk(from, now);
        return;
      case 'hello-ack':
        if (!neighbours.punchedAck(from, message))
          this.#context.drop('non-member', from, message.type);
        return;
      case 'goodbye':
        // A goodbye's extra copies arrive after the member is gone: nothing to count.
        return;
      default:
        this.#context.drop('non-member', from, message.type);
    }
  }

  /**
   * Signed chunks: a chunk within the window (buffer `index` now) is stored once it is
   * valid (`SignedChunks`): at once, or when its digest comes, the window checked again
   * then (`store` gets the index). A copy of one already stored needs no check.
   */
  #admit(
    chunk: Chunk,
    from: Endpoint,
    sender: number,
    index: number,
    fromSource: boolean,
    store: (index: number, now: Instant) => void,
    now: Instant,
  ): void {
    if (this.#playOut.has(index)) {
      store(index, now);
      return;
    }
    this.#playOut.arrived(index, now);
    const action: ChunkAction = (at, held) => {
      const current = held ? this.#playOut.acceptableIndex(chunk, from, fromSource, at) : index;
      if (current !== null) store(current, at);
    };
    this.#signedChunks.admit(chunk, from, sender, action, now);
  }

  /**
   * An accepted chunk: stored (the first copy wins), credited to the neighbour it came from
   * when it was new (rule 7: an echo of what we already hold earns nothing), relayed when
   * the source sent it (`relay`: its datagram, rule 2), and then the window moves and what
   * is due plays (rule 5).
   */
  #storeChunk(
    chunk: Chunk,
    index: number,
    neighbour: Neighbour | null,
    relay: Uint8Array | null,
    now: Instant,
  ): void {
    const stats = this.#context.stats;
    if (neighbour === null) {
      stats.chunksFromSource++;
    } else {
      stats.chunksFromPeers++;
    }
    const stored = this.#playOut.store(chunk, index, now);
    if (neighbour !== null) this.#neighbours.received(neighbour, stored);
    if (!stored) return;
    if (relay !== null) this.#relay.relay(relay, index, now);
    this.#playOut.advance(index, now);
  }

  // -------------------------------------------------------------------------------------
  // The source's side of rule 6: its goodbye, its silence, our reports

  /** Anything valid from the source (chunks, keepalives) restarts its silence timeout. */
  #heardFromSource(now: Instant): void {
    const timeout = this.config.sourceTimeoutMillis;
    if (this.#context.state === 'streaming' && timeout > 0) {
      this.#context.timers.set('source-silence', now + timeout);
    }
  }

  #onSourceGoodbye(memberId: MemberId, reason: GoodbyeReason, now: Instant): void {
    const context = this.#context;
    if (memberId === NO_MEMBER) {
      // The stream ends: relay what we owe at once, wait for relays in flight, play out.
      if (context.state !== 'streaming') return;
      context.state = 'draining';
      this.#relay.burst();
      const drain = this.config.drainMillis ?? Math.max(500, 4 * this.#timing.chunkIntervalMillis);
      context.timers.set('drain', now + drain);
      context.timers.stop('report');
      context.timers.stop('source-silence');
      this.#neighbours.streamEnded();
      context.emit({ name: 'stream-end', level: 'info', fields: { reason, drainMillis: drain } });
      return;
    }
    if (memberId === context.memberId) {
      context.emit({ name: 'peer-expel', level: 'error', fields: { reason } });
      this.#finish(`removed by the source: ${reason}`);
      return;
    }
    // The source tells us about another member (expulsions, vanished members).
    this.#neighbours.departed(memberId, reason);
  }

  #sourceSilent(): void {
    const context = this.#context;
    const silence = `nothing from the source ${context.sourceKey} for ${this.config.sourceTimeoutMillis} ms`;
    context.emit({
      name: 'peer-fail',
      level: 'error',
      fields: { code: 'P2PSP_ERR_SOURCE_SILENT', message: silence },
    });
    this.#endOfStream(
      `P2PSP_ERR_SOURCE_SILENT: ${silence} (no chunk, no keepalive): it stopped without a goodbye, or the path to it broke`,
    );
  }

  /** Our counters to the source: for its dashboard, and a sign of life (rule 6). */
  #report(now: Instant): void {
    const context = this.#context;
    if (context.state !== 'streaming') return;
    context.timers.set('report', now + this.config.reportIntervalMillis);
    const stats = context.stats;
    context.sendMessage(context.source, {
      type: 'stats-report',
      memberId: context.memberId,
      chunksReceived: Math.min(0xffff_ffff, stats.chunksFromSource + stats.chunksFromPeers),
      chunksLost: Math.min(0xffff_ffff, stats.chunksLost),
      chunksPlayed: Math.min(0xffff_ffff, stats.chunksPlayed),
      chunksSent: Math.min(0xffff_ffff, stats.chunksRelayed),
      bufferFill: this.#playOut.bufferFill,
      players: Math.min(0xffff_ffff, this.config.players?.() ?? 0),
      neighbours: this.#neighbours.size,
    });
  }

  // -------------------------------------------------------------------------------------
  // The end (rule 6)

  #stop(): void {
    const context = this.#context;
    if (context.state === 'stopped') return;
    if (context.state === 'streaming' || context.state === 'draining') {
      // Relay what we owe, then say goodbye to the source and to everybody.
      this.#relay.burst();
      const goodbye = encodeDatagram({
        type: 'goodbye',
        memberId: context.memberId,
        reason: 'leaving',
      });
      // Not to unverified ones: a goodbye is no reason to write to an address never proved.
      const targets = this.#neighbours
        .all()
        .filter((neighbour) => neighbour.verified)
        .map((neighbour) => neighbour.endpoint);
      if (context.state === 'streaming') targets.unshift(context.source);
      for (const to of targets) {
        for (let copy = 0; copy < GOODBYE_COPIES; copy++) context.sendBytes(to, goodbye);
      }
    }
    this.#finish('stop');
  }

  /** Stream end: play what the buffer holds, in order, then stop. */
  #endOfStream(reason = 'stream-end'): void {
    this.#playOut.playRemaining();
    this.#finish(reason);
  }

  #fail(code: PeerErrorCode, message: string): void {
    this.#context.emit({ name: 'peer-fail', level: 'error', fields: { code, message } });
    this.#finish(`${code}: ${message}`);
  }

  #finish(reason: string): void {
    const context = this.#context;
    if (context.state === 'stopped') return;
    this.#join.close(reason);
    context.state = 'stopped';
    this.#stopReason = reason;
    context.timers.stopAll();
    context.push({ type: 'stopped', reason });
  }
}
