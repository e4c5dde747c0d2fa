import { NeighbourAccounting } from '@p2psp/cluster';
import { isStunDatagram, punchCandidates } from '@p2psp/nat';
import {
  type Chunk,
  type CoreInput,
  type CoreOutput,
  chunkNumberAfter,
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  formatEndpoint,
  type GoodbyeReason,
  type Instant,
  type JoinAccept,
  type MemberId,
  type MemberInfo,
  NO_MEMBER,
  type SansIoCore,
  sameEndpoint,
} from '@p2psp/wire';
import { ChunkBuffer } from './chunk-buffer.js';
import { ChunkRepair, NO_REPAIR_STATS, type RepairView } from './chunk-repair.js';
import type { PeerErrorCode } from './errors.js';
import {
  type PeerConfig,
  playoutDelayFor,
  type ResolvedPeerConfig,
  resolvePeerConfig,
} from './peer-config.js';
import { PeerContext } from './peer-context.js';
import type { NeighbourVia, PeerEvent } from './peer-events.js';
import type { NeighbourView, PeerDropReason, PeerState, PeerStats } from './peer-types.js';

/** The id of the one TCP connection the peer opens (to the source); negative, see sans-io. */
const SOURCE_CONNECTION = -1;

/** A buffer larger than this in a join accept is refused: the peer allocates B slots. */
const MAX_BUFFER_SIZE = 1 << 20;

/**
 * Copies of our goodbye: a single unacknowledged datagram, and a lost one leaves the source
 * feeding a peer that left until its liveness timeout. Duplicates are ignored.
 */
const GOODBYE_COPIES = 3;

/** Source chunks a newly learnt neighbour is sent at once, if still in the window. */
const CATCH_UP_CHUNKS = 2;
/** Chunks received before the pre-play measure of the chunk interval is trusted. */
const MEASURE_CHUNKS = 4;

/**
 * Neighbours learnt from a hello or a chunk (not from the source) that have not answered
 * our nonce yet. Capped so that spoofed hellos cannot crowd out real joiners.
 */
const MAX_UNVERIFIED = 256;

/** Member ids remembered as gone (ids are never reused by a source). */
const DEPARTED_MEMORY = 4096;

/** Weight of a new sample in the interval moving averages (1/8, as TCP's SRTT, RFC 6298). */
const AVERAGE_WEIGHT = 1 / 8;

interface Neighbour {
  readonly memberId: MemberId;
  endpoint: Endpoint;
  key: string;
  /** It answered our hello or sent us something: the path works both ways. */
  reachable: boolean;
  /**
   * Listed by the source, or answered our hello with our nonce. Only verified neighbours
   * are sent relays: a hello or chunk from a spoofed address must not turn this peer into
   * a stream reflector aimed at that address.
   */
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
}

/** One source chunk being relayed to every neighbour (rules 2 and 3). */
interface RelayJob {
  /** The datagram exactly as the source sent it: relayed byte for byte. */
  readonly bytes: Uint8Array;
  readonly chunkNumber: number;
  readonly targets: Neighbour[];
  readonly sentTo: Set<MemberId>;
  cursor: number;
  /** Milliseconds between two relays of this chunk. */
  readonly step: number;
  nextAt: Instant;
}

/**
 * The P2PSP peer as a sans-IO core.
 *
 * - Rule 4, joining: connect to the source (TCP), send a join request, read the accept
 *   (configuration, header, member list), close; hello to the source (retried until its
 *   hello-ack, bounded) and to every member (retried until answered: this also opens NATs).
 *   Neighbours are also learnt from their hellos and from the origin of their chunks.
 * - Rule 2, relaying: every chunk from the source goes to every other member; chunks from
 *   peers are not relayed again.
 * - Rule 3, pacing: the relays of one source chunk are spread over the expected time to the
 *   next source chunk (capped by `relaySpreadChunks` chunk intervals); when the next source
 *   chunk arrives first, the rest go out in a burst.
 * - Rule 5, buffering and play-out: B chunks indexed by chunk number mod B. Play-out starts
 *   once the newest chunk is `playoutDelayChunks` ahead of the oldest, and chunk k is played
 *   as soon as a chunk numbered k + delay or later has arrived: the play-out is clocked by
 *   the stream itself, so a source slightly faster or slower than its announced rate never
 *   overflows or starves the buffer. A chunk missing at its turn is played as null and
 *   counted lost; the output never stalls.
 * - Rule 6, leaving: `stop` says goodbye to the source and every member; the source's
 *   goodbye ends the stream after the relays in flight had time to arrive.
 * - Rule 7: a neighbour whose debt passes `debtThreshold` is dropped.
 * - Rule 8 (monitors): a peer started as a monitor reports each chunk lost to the source.
 */
export class PeerCore implements SansIoCore<PeerEvent> {
  readonly config: ResolvedPeerConfig;

  readonly #context: PeerContext;
  readonly #sourceKey: string;
  #state: PeerState = 'connecting';
  #startedAt: Instant | null = null;
  #joinDeadline: Instant = Number.POSITIVE_INFINITY;
  #connectionOpen = false;
  readonly #decoder: FrameDecoder;
  #stopReason: string | null = null;

  // From the join accept.
  #memberId: MemberId = NO_MEMBER;
  #chunkSize = 0;
  #bufferSize = 0;
  #playoutDelay = 0;
  #relaySpreadChunks = 0;
  /** First chunk stored after the join (time, index): measures the interval before play. */
  #firstStoredAt: Instant | null = null;
  #firstStoredIndex = 0;
  /** Cap of the relay spread in time (time-based delay only), else infinity. */
  #relaySpreadCapMillis = Number.POSITIVE_INFINITY;
  #mediaType = '';
  #monitorCount = 0;
  /** We are a monitor (rule 8): told by our own entry in the accept's member list. */
  #monitor = false;

  // Hellos (rule 4).
  #sourceHelloNonce = 0;
  #sourceHellosLeft = 0;
  #sourceAcknowledged = false;
  #helloRoundAt: Instant | null = null;
  /** Next stats-report to the source (a sign of life, rule 6), or null when off. */
  #reportAt: Instant | null = null;
  /** The last time anything valid came from the source (chunks, keepalives). */
  #lastSourceAt: Instant = 0;

  // Neighbours, and their debts (rule 7, @p2psp/cluster).
  /**
   * Debts (rule 7) and liveness (rule 6) per neighbour (@p2psp/cluster). Liveness runs on
   * the stream's clock, `#streamClock` (chunk times as chunk numbers advance), not on
   * wall time: a stalled ingest silences everybody and must not count as their silence.
   */
  #accounting: NeighbourAccounting<MemberId>;
  /** External and liberated members (seed 000): exempt from debts and liveness. */
  readonly #externals = new Set<MemberId>();
  /** Chunk times elapsed: the sum of the advances of the newest chunk index. */
  #streamClock = 0;
  /** Stream clock at which the liveness check next has work (a cached lower bound). */
  #livenessCheckAt = 0;
  readonly #neighboursById = new Map<MemberId, Neighbour>();
  readonly #neighboursByKey = new Map<string, Neighbour>();
  /** Neighbours not verified yet (see `MAX_UNVERIFIED`). */
  #unverified = 0;
  /**
   * Members that left or were removed: a relay of theirs that arrives after their goodbye
   * (UDP may reorder) must not teach them back as neighbours (rule 4 learning).
   */
  readonly #departed = new Set<MemberId>();

  // Timing estimates, from the accept and then from the source chunks we receive.
  #chunkIntervalMillis = 0;
  /** Expected time between two source chunks to us (about |T| chunk intervals). */
  #sourceGapMillis: number | null = null;
  #lastSourceChunkAt: Instant | null = null;
  #lastSourceChunkIndex = 0;

  // Relaying (rules 2, 3).
  #relay: RelayJob | null = null;
  /** The last source chunks relayed (datagram and buffer index), for catch-up relays. */
  readonly #recentRelays: { readonly bytes: Uint8Array; readonly index: number }[] = [];
  /** The accept's next chunk number: older chunks may have been relayed before we were known. */
  #joinChunkNumber = 0;

  // Buffer and play-out (rule 5).
  #buffer: ChunkBuffer = new ChunkBuffer(1);
  #playing = false;
  #playIndex = 0;
  #lowestIndex = 0;
  #highestIndex = 0;
  #drainDeadline: Instant | null = null;

  /** RMS-lite repair of lost chunks (chunk-repair.ts), or null when `repair` is off. */
  #repair: ChunkRepair | null = null;

  constructor(config: PeerConfig) {
    this.config = resolvePeerConfig(config);
    this.#context = new PeerContext(this.config.source);
    this.#sourceKey = formatEndpoint(this.config.source);
    this.#decoder = new FrameDecoder({ maxFrameBytes: this.config.maxFrameBytes });
    this.#accounting = new NeighbourAccounting<MemberId>({
      debtThreshold: this.config.debtThreshold,
    });
    // Rule 4: the join starts with a TCP connection to the source.
    this.#context.push({ type: 'connect', connection: SOURCE_CONNECTION, to: this.config.source });
  }

  // -------------------------------------------------------------------------------------
  // SansIoCore

  handle(input: CoreInput, now: Instant): void {
    this.#start(now);
    switch (input.type) {
      case 'datagram':
        this.#onDatagram(input.from, input.bytes, now);
        return;
      case 'connection-open':
        this.#onConnectionOpen(input.connection);
        return;
      case 'connection-data':
        this.#onConnectionData(input.connection, input.bytes, now);
        return;
      case 'connection-closed':
        this.#onConnectionClosed(input.connection, input.reason);
        return;
      case 'ingest-data':
      case 'ingest-restart':
      case 'ingest-end':
        // A peer has no ingest; a driver that sends one is misconfigured, not attacked.
        this.#context.emit({ name: 'input-ignore', level: 'warn', fields: { type: input.type } });
        return;
      case 'stop':
        this.#stop();
        return;
    }
  }

  handleTimeout(now: Instant): void {
    this.#start(now);
    if (this.#state === 'stopped') return;
    if ((this.#state === 'connecting' || this.#state === 'joining') && now >= this.#joinDeadline) {
      this.#fail(
        'P2PSP_ERR_JOIN_TIMEOUT',
        `no join accept from the source ${this.#sourceKey} within ${this.config.joinTimeoutMillis} ms; check the address and that the source runs`,
      );
      return;
    }
    if (this.#helloRoundAt !== null && now >= this.#helloRoundAt) this.#helloRound(now);
    // The hello round may have given up on the source.
    if (this.state === 'stopped') return;
    this.#runRelays(now);
    this.#runRepair(now);
    if (this.#reportAt !== null && now >= this.#reportAt) this.#report(now);
    if (this.#drainDeadline !== null && now >= this.#drainDeadline) this.#endOfStream();
    const silentSince = this.#sourceSilenceDeadline();
    if (silentSince !== null && now >= silentSince) {
      this.#context.emit({
        name: 'peer-fail',
        level: 'error',
        fields: {
          code: 'P2PSP_ERR_SOURCE_SILENT',
          message: `nothing from the source ${this.#sourceKey} for ${this.config.sourceTimeoutMillis} ms`,
        },
      });
      this.#endOfStream(
        `P2PSP_ERR_SOURCE_SILENT: nothing from the source ${this.#sourceKey} for ${this.config.sourceTimeoutMillis} ms (no chunk, no keepalive): it stopped without a goodbye, or the path to it broke`,
      );
    }
  }

  /** When the source's silence ends the stream, or null (off, or not streaming). */
  #sourceSilenceDeadline(): Instant | null {
    if (this.#state !== 'streaming' || this.config.sourceTimeoutMillis === 0) return null;
    return this.#lastSourceAt + this.config.sourceTimeoutMillis;
  }

  pollTimeout(): Instant | undefined {
    // Not started: ask for a first handleTimeout at once, to learn the time.
    if (this.#startedAt === null) return 0;
    if (this.#state === 'stopped') return undefined;
    let earliest = Number.POSITIVE_INFINITY;
    if (this.#state === 'connecting' || this.#state === 'joining') earliest = this.#joinDeadline;
    if (this.#helloRoundAt !== null) earliest = Math.min(earliest, this.#helloRoundAt);
    if (this.#relay !== null) earliest = Math.min(earliest, this.#relay.nextAt);
    if (this.#reportAt !== null) earliest = Math.min(earliest, this.#reportAt);
    if (this.#drainDeadline !== null) earliest = Math.min(earliest, this.#drainDeadline);
    const silence = this.#sourceSilenceDeadline();
    if (silence !== null) earliest = Math.min(earliest, silence);
    const repairAt = this.#state === 'streaming' ? (this.#repair?.nextAt() ?? null) : null;
    if (repairAt !== null) earliest = Math.min(earliest, repairAt);
    return Number.isFinite(earliest) ? earliest : undefined;
  }

  pollOutput(): CoreOutput<PeerEvent> | undefined {
    return this.#context.poll();
  }

  // -------------------------------------------------------------------------------------
  // Views

  get state(): PeerState {
    return this.#state;
  }

  /** We are one of the cluster's monitors (rule 8), as the source's accept said. */
  get monitor(): boolean {
    return this.#monitor;
  }

  /** The member id the source gave us (NO_MEMBER before the accept). */
  get memberId(): MemberId {
    return this.#memberId;
  }

  neighbours(): readonly NeighbourView[] {
    return [...this.#neighboursById.values()].map((neighbour) => ({
      memberId: neighbour.memberId,
      endpoint: neighbour.endpoint,
      debt: this.#accounting.debts.debt(neighbour.memberId),
      reachable: neighbour.reachable,
      verified: neighbour.verified,
    }));
  }

  stats(): PeerStats {
    return {
      state: this.#state,
      memberId: this.#memberId,
      chunksFromSource: this.#context.stats.chunksFromSource,
      chunksFromPeers: this.#context.stats.chunksFromPeers,
      chunksDuplicated: this.#context.stats.chunksDuplicated,
      chunksBeforeJoin: this.#context.stats.chunksBeforeJoin,
      chunksRelayed: this.#context.stats.chunksRelayed,
      chunksBurst: this.#context.stats.chunksBurst,
      chunksPlayed: this.#context.stats.chunksPlayed,
      chunksLost: this.#context.stats.chunksLost,
      bytesPlayed: this.#context.stats.bytesPlayed,
      datagramBytesSent: this.#context.stats.datagramBytesSent,
      datagramsDropped: { ...this.#context.drops },
      neighbours: this.#neighboursById.size,
      neighboursDropped: this.#context.stats.neighboursDropped,
      neighboursSilent: this.#context.stats.neighboursSilent,
      stunDatagramsIgnored: this.#context.stats.stunDatagramsIgnored,
      predictedHellosSent: this.#context.stats.predictedHellosSent,
      neighboursPunched: this.#context.stats.neighboursPunched,
      bufferFill: this.#buffer.filled,
      playChunkNumber: this.#playing ? this.#buffer.numberOf(this.#playIndex) : null,
      chunkIntervalMillis: this.#chunkIntervalMillis,
      monitorCount: this.#monitorCount,
      mediaType: this.#mediaType,
      stopReason: this.#stopReason,
      repair: this.#repair?.stats() ?? NO_REPAIR_STATS,
    };
  }

  // -------------------------------------------------------------------------------------
  // Joining over TCP (rule 4)

  #start(now: Instant): void {
    if (this.#startedAt !== null) return;
    this.#startedAt = now;
    this.#joinDeadline = now + this.config.joinTimeoutMillis;
  }

  #onConnectionOpen(connection: number): void {
    if (connection !== SOURCE_CONNECTION || this.#state !== 'connecting') return;
    this.#connectionOpen = true;
    this.#state = 'joining';
    this.#context.push({
      type: 'write',
      connection,
      bytes: encodeFrame({
        type: 'join-request',
        role: this.config.role,
        privateEndpoint: this.config.privateEndpoint,
        nat: this.config.nat,
        credential: this.config.credential,
      }),
    });
  }

  #onConnectionData(connection: number, bytes: Uint8Array, now: Instant): void {
    if (connection !== SOURCE_CONNECTION || this.#state !== 'joining') return;
    this.#decoder.push(bytes);
    for (const result of this.#decoder) {
      if (!result.ok) {
        this.#fail(
          'P2PSP_ERR_JOIN_FAILED',
          `the source ${this.#sourceKey} sent a bad frame (${result.error.code}: ${result.error.detail}); is it a P2PSP source of this version?`,
        );
        return;
      }
      const message = result.message;
      if (message.type === 'join-refused') {
        this.#context.emit({
          name: 'join-refuse',
          level: 'error',
          fields: {
            code: 'P2PSP_ERR_JOIN_REFUSED',
            reason: message.reason,
            message: message.message,
            redirect: message.redirect === null ? null : formatEndpoint(message.redirect),
          },
        });
        this.#finish(`join-refused: ${message.reason}: ${message.message}`);
        return;
      }
      if (message.type === 'join-accept') {
        this.#onAccept(message, now);
        return;
      }
      this.#fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the source ${this.#sourceKey} sent a ${message.type} frame instead of a join answer`,
      );
      return;
    }
  }

  #onConnectionClosed(connection: number, reason: string): void {
    if (connection !== SOURCE_CONNECTION) return;
    this.#connectionOpen = false;
    if (this.#state === 'connecting' || this.#state === 'joining') {
      this.#fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the connection to the source ${this.#sourceKey} closed before the join completed (${reason}); check the address and that the source runs`,
      );
    }
  }

  #onAccept(accept: JoinAccept, now: Instant): void {
    if (
      accept.memberId === NO_MEMBER ||
      accept.chunkSize === 0 ||
      accept.bufferSize < 2 ||
      accept.bufferSize > MAX_BUFFER_SIZE
    ) {
      this.#fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the source's join accept is unusable (member id ${accept.memberId}, chunk size ${accept.chunkSize}, buffer ${accept.bufferSize})`,
      );
      return;
    }
    this.#memberId = accept.memberId;
    this.#chunkSize = accept.chunkSize;
    this.#bufferSize = accept.bufferSize;
    this.#mediaType = accept.mediaType;
    this.#monitorCount = accept.monitorCount;
    this.#joinChunkNumber = accept.nextChunkNumber;
    this.#buffer = new ChunkBuffer(accept.bufferSize);
    // Liveness in chunk times of the stream clock (see #dropSilentNeighbours): 2B, issue 5's
    // bound. No neighbour is known before the accept, so nothing is lost by replacing it.
    this.#accounting = new NeighbourAccounting<MemberId>({
      debtThreshold: this.config.debtThreshold,
      livenessTimeoutMillis: 2 * accept.bufferSize,
    });
    this.#livenessCheckAt = 2 * accept.bufferSize;
    this.#chunkIntervalMillis = Math.max(0.01, accept.chunkIntervalMicros / 1000);
    // The source lists the joiner itself first: its flags say whether we are the monitor
    // (the first joiner is, by default, even without asking).
    const self = accept.members.find((member) => member.memberId === accept.memberId);
    this.#monitor = self?.flags.monitor ?? this.config.role === 'monitor';
    // Rule 5 play-out delay, time-based by default (playoutDelayFor in peer-config.ts).
    // Monitors play earlier so they notice losses while the others still have time for a
    // recovery (LRS: "monitors run a buffer of B/2"). With repair, a monitor complains as
    // soon as its repair fails (chunk-repair.ts), not at play time, so it plays at 3/4 of
    // the peers' delay: time for its own repairs and for the resend to reach it.
    const delay = playoutDelayFor({
      bufferSize: accept.bufferSize,
      chunkIntervalMillis: this.#chunkIntervalMillis,
      monitor: this.#monitor,
      repair: this.config.repair,
      playoutDelayMillis: this.config.playoutDelayMillis,
      playoutDelayChunks: this.config.playoutDelayChunks,
    });
    this.#playoutDelay = delay.chunks;
    if (delay.requestedChunks !== null) {
      this.#context.emit({
        name: 'config-adjust',
        level: 'warn',
        fields: {
          option: 'playoutDelayChunks',
          requested: delay.requestedChunks,
          used: this.#playoutDelay,
          why: `the source's buffer B is ${accept.bufferSize}: the delay must be below B`,
        },
      });
    }
    // Relays must reach everyone well before they are played: spread them over at most
    // half the play-out delay, leaving the other half for latency and jitter.
    this.#relaySpreadChunks =
      this.config.relaySpreadChunks ?? Math.max(1, Math.floor(this.#playoutDelay / 2));
    // With the time-based delay, also at most half of it in time: a member that joined
    // while the source still announced its initial interval estimate has more chunks of
    // delay than those that came later, and must not spread its relays past their play time.
    if (this.config.relaySpreadChunks === null && this.config.playoutDelayChunks === null)
      this.#relaySpreadCapMillis = this.config.playoutDelayMillis / 2;
    // RMS-lite (chunk-repair.ts). The neighbours spread their relays as a non-monitor does
    // with the same options (a monitor's own spread is shorter).
    this.#repair = this.config.repair
      ? new ChunkRepair(
          this.config.random,
          {
            memberId: accept.memberId,
            bufferSize: accept.bufferSize,
            playoutDelayChunks: this.#playoutDelay,
            neighbourSpreadChunks:
              this.config.relaySpreadChunks ?? Math.max(1, Math.floor(delay.peerChunks / 2)),
          },
          now,
        )
      : null;
    this.#state = 'streaming';
    this.#connectionOpen = false;
    this.#context.push({ type: 'close', connection: SOURCE_CONNECTION, reason: 'joined' });
    this.#context.push({
      type: 'stream-header',
      mediaType: accept.mediaType,
      // A copy: the accept's header is a view into a TCP read buffer.
      header: accept.header.slice(),
    });
    this.#context.emit({
      name: 'join-accept',
      level: 'info',
      fields: {
        memberId: accept.memberId,
        source: this.#sourceKey,
        observedEndpoint: formatEndpoint(accept.observedEndpoint),
        members: accept.members.length,
        chunkSize: accept.chunkSize,
        bufferSize: accept.bufferSize,
        chunkIntervalMillis: this.#chunkIntervalMillis,
        playoutDelayChunks: this.#playoutDelay,
        monitor: this.#monitor,
      },
    });
    // Hello to the source: it appends us to its round robin when it arrives.
    this.#sourceHelloNonce = Math.floor(this.config.random.next() * 0x1_0000_0000) >>> 0;
    this.#sourceHellosLeft = this.config.helloAttempts - 1;
    this.#sendHelloToSource();
    for (const member of accept.members) this.#learnFromList(member);
    this.#helloRoundAt = now + this.config.helloRetryMillis;
    this.#lastSourceAt = now;
    if (this.config.reportIntervalMillis > 0)
      this.#reportAt = now + this.config.reportIntervalMillis;
  }

  /** Our counters to the source: for its dashboard, and a sign of life (rule 6). */
  #report(now: Instant): void {
    this.#reportAt = this.#state === 'streaming' ? now + this.config.reportIntervalMillis : null;
    if (this.#state !== 'streaming') return;
    this.#send(this.config.source, {
      type: 'stats-report',
      memberId: this.#memberId,
      chunksReceived: Math.min(
        0xffff_ffff,
        this.#context.stats.chunksFromSource + this.#context.stats.chunksFromPeers,
      ),
      chunksLost: Math.min(0xffff_ffff, this.#context.stats.chunksLost),
      chunksPlayed: Math.min(0xffff_ffff, this.#context.stats.chunksPlayed),
      chunksSent: Math.min(0xffff_ffff, this.#context.stats.chunksRelayed),
      bufferFill: this.#buffer.filled,
      players: 0,
      neighbours: this.#neighboursById.size,
    });
  }

  #sendHelloToSource(): void {
    this.#send(this.config.source, {
      type: 'hello',
      memberId: this.#memberId,
      nonce: this.#sourceHelloNonce,
    });
  }

  #learnFromList(member: MemberInfo): void {
    if (member.memberId === this.#memberId || member.memberId === NO_MEMBER) return;
    if (this.#neighboursById.has(member.memberId)) return;
    const neighbour = this.#addNeighbour(member.memberId, member.endpoint, 'list', true);
    if (neighbour === null) return;
    // Issue 6: a symmetric NAT opens a new port towards us, predicted from the endpoint the
    // source saw and the step the member measured (only sequential/preserving ones).
    if (member.nat !== undefined) {
      const seen = neighbour.key;
      neighbour.candidates = punchCandidates(member.nat, [member.endpoint]).filter(
        (candidate) => formatEndpoint(candidate) !== seen,
      );
    }
    // External peers (seed 000) are sent the stream and never expected to relay.
    // Liberated ones (seed 000) are fed by the peers and give nothing back either.
    if (member.flags.external || member.flags.liberated) {
      this.#externals.add(member.memberId);
      this.#accounting.markExternal(member.memberId);
    }
    this.#sendHello(neighbour);
  }

  /** Hello retries, one round every `helloRetryMillis` while any hello is unanswered. */
  #helloRound(now: Instant): void {
    let pending = false;
    if (!this.#sourceAcknowledged && this.#state === 'streaming') {
      if (this.#sourceHellosLeft <= 0) {
        this.#fail(
          'P2PSP_ERR_HELLO_TIMEOUT',
          `the source ${this.#sourceKey} never answered our UDP hello (${this.config.helloAttempts} attempts): UDP to it is blocked or lost (firewall, NAT)`,
        );
        return;
      }
      this.#sourceHellosLeft--;
      this.#sendHelloToSource();
      pending = true;
    }
    for (const neighbour of this.#neighboursById.values()) {
      if (neighbour.reachable && neighbour.verified) continue;
      if (neighbour.hellosLeft <= 0) {
        // Never proved it is at that address: forget it (it may come back with a hello).
        if (!neighbour.verified) this.#forgetUnverified(neighbour);
        continue;
      }
      this.#sendHello(neighbour);
      pending = true;
    }
    this.#helloRoundAt = pending ? now + this.config.helloRetryMillis : null;
  }

  #sendHello(neighbour: Neighbour): void {
    neighbour.hellosLeft--;
    const hello = encodeDatagram({
      type: 'hello',
      memberId: this.#memberId,
      nonce: neighbour.nonce,
    });
    this.#sendBytes(neighbour.endpoint, hello);
    if (neighbour.reachable) return;
    // Bounded: at most 32 candidates, for `helloAttempts` rounds, until it answers.
    for (const candidate of neighbour.candidates) {
      this.#context.stats.predictedHellosSent++;
      this.#sendBytes(candidate, hello);
    }
  }

  /**
   * A hello-ack with our nonce from an endpoint we did not know: one of our hellos got
   * through to a port the member's NAT opened towards us (predicted, NTS). It answered our
   * nonce there, so the path is proven both ways: the neighbour moves to that endpoint.
   */
  #onPunchedAck(from: Endpoint, memberId: MemberId, nonce: number): boolean {
    const known = this.#neighboursById.get(memberId);
    if (known === undefined || known.reachable || known.nonce !== nonce) return false;
    const moved = this.#addNeighbour(memberId, from, 'hello-ack', false);
    if (moved === null) return false;
    moved.reachable = true;
    moved.candidates = [];
    this.#context.stats.neighboursPunched++;
    this.#verify(moved);
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Datagrams

  #onDatagram(from: Endpoint, bytes: Uint8Array, now: Instant): void {
    // Issue 6: NAT detection shares this socket (RFC 8489 section 5 demultiplexing): a late
    // STUN answer or retransmission is not a P2PSP datagram, nor an error worth a warning.
    if (isStunDatagram(bytes)) {
      this.#context.stats.stunDatagramsIgnored++;
      return;
    }
    if (this.#state !== 'streaming' && this.#state !== 'draining') {
      this.#drop('not-joined', from);
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) {
      this.#drop('malformed', from, decoded.error.code);
      return;
    }
    const message = decoded.message;
    if (sameEndpoint(from, this.config.source)) {
      this.#onSourceMessage(message, bytes, now);
      return;
    }
    const key = formatEndpoint(from);
    const neighbour = this.#neighboursByKey.get(key);
    if (neighbour !== undefined) {
      this.#onNeighbourMessage(neighbour, message, now);
      return;
    }
    // Rule 4: neighbours are also learnt from their hellos and from their chunks' origin.
    if (message.type === 'hello') {
      if (message.memberId === NO_MEMBER || message.memberId === this.#memberId) {
        this.#drop('bad-origin', from, 'hello');
        return;
      }
      const learnt = this.#addNeighbour(message.memberId, from, 'hello', false);
      if (learnt === null) {
        this.#drop('bad-origin', from, 'hello');
        return;
      }
      learnt.reachable = true;
      this.#send(from, { type: 'hello-ack', memberId: this.#memberId, nonce: message.nonce });
      // Our own hello is the challenge: its hello-ack proves the address is really its.
      this.#sendHello(learnt);
      this.#scheduleHelloRound(now);
      return;
    }
    if (message.type === 'chunk') {
      // Safe to learn from: the chunk must fit the window and the chunk size (checked before
      // anything is stored or learnt), its origin must be a member id that is neither ours,
      // NO_MEMBER, nor a member already reachable elsewhere; the neighbour count is capped;
      // and a stored chunk is never replaced by a later copy.
      if (message.origin === NO_MEMBER || message.origin === this.#memberId) {
        this.#drop('bad-origin', from, 'chunk');
        return;
      }
      const index = this.#acceptableIndex(message, from, false);
      if (index === null) return;
      const learnt = this.#addNeighbour(message.origin, from, 'chunk', false);
      if (learnt === null) {
        this.#drop('bad-origin', from, 'chunk');
        return;
      }
      learnt.reachable = true;
      this.#sendHello(learnt);
      this.#scheduleHelloRound(now);
      this.#storeChunk(message, index, learnt, null, now);
      return;
    }
    // A goodbye's extra copies arrive after the member is gone: nothing to count.
    if (message.type === 'hello-ack' && this.#onPunchedAck(from, message.memberId, message.nonce)) {
      return;
    }
    if (message.type !== 'goodbye') this.#drop('non-member', from, message.type);
  }

  #onSourceMessage(message: DatagramMessage, bytes: Uint8Array, now: Instant): void {
    this.#lastSourceAt = now;
    switch (message.type) {
      case 'chunk': {
        // Chunks from the source prove it has us in its list, whatever became of the ack.
        this.#sourceAcknowledged = true;
        if (message.flags.recovered) {
          // LRS: every monitor lost it and the source resent it through us. Maybe too late
          // for our own play-out (monitors play early), but in time for the others: relay
          // it to everybody at once, not paced, and without disturbing the paced relays.
          const late =
            this.#buffer.anchored &&
            this.#playing &&
            this.#buffer.indexOf(message.chunkNumber) < this.#playIndex;
          const index = late ? null : this.#acceptableIndex(message, this.config.source, false);
          if (index !== null) this.#storeChunk(message, index, null, null, now);
          this.#relayToAllNow(bytes);
          return;
        }
        const index = this.#acceptableIndex(message, this.config.source, true);
        if (index !== null) this.#storeChunk(message, index, null, bytes, now);
        return;
      }
      case 'hello-ack':
        // The answer to our hello, or a keepalive (nonce 0): either way the source has us.
        if (message.memberId === this.#memberId) {
          if (!this.#sourceAcknowledged) {
            this.#sourceAcknowledged = true;
            this.#context.emit({
              name: 'hello-ack',
              level: 'debug',
              fields: { from: this.#sourceKey },
            });
          }
        } else {
          this.#drop('unexpected', this.config.source, 'hello-ack for another member id');
        }
        return;
      case 'goodbye':
        this.#onSourceGoodbye(message.memberId, message.reason, now);
        return;
      case 'peer-list-reply':
        for (const member of message.members) this.#learnFromList(member);
        if (this.#helloRoundAt === null) this.#helloRoundAt = now + this.config.helloRetryMillis;
        return;
      default:
        this.#drop('unexpected', this.config.source, message.type);
    }
  }

  #onNeighbourMessage(neighbour: Neighbour, message: DatagramMessage, now: Instant): void {
    // Anything from it (a chunk, a hello, a repair request...) says it is alive (rule 6).
    this.#accounting.heard(neighbour.memberId, this.#streamClock);
    switch (message.type) {
      case 'chunk': {
        const index = this.#acceptableIndex(message, neighbour.endpoint, false);
        if (index === null) return;
        neighbour.reachable = true;
        this.#storeChunk(message, index, neighbour, null, now);
        return;
      }
      case 'hello':
        if (message.memberId !== neighbour.memberId) {
          this.#drop('bad-origin', neighbour.endpoint, 'hello with another member id');
          return;
        }
        neighbour.reachable = true;
        this.#send(neighbour.endpoint, {
          type: 'hello-ack',
          memberId: this.#memberId,
          nonce: message.nonce,
        });
        return;
      case 'hello-ack':
        neighbour.reachable = true;
        if (
          !neighbour.verified &&
          message.memberId === neighbour.memberId &&
          message.nonce === neighbour.nonce
        ) {
          this.#verify(neighbour);
        }
        return;
      case 'chunk-request':
        // RMS-lite: only a verified neighbour asking in its own name is answered (an
        // unverified address could be spoofed: answering would reflect chunks at it).
        if (this.#repair === null || !neighbour.verified) {
          this.#drop('unexpected', neighbour.endpoint, message.type);
          return;
        }
        if (message.memberId !== neighbour.memberId) {
          this.#drop('bad-origin', neighbour.endpoint, 'chunk-request for another member');
          return;
        }
        this.#answerRepair(neighbour, message.chunkNumber, now);
        return;
      case 'goodbye':
        if (message.memberId !== neighbour.memberId) {
          this.#drop('bad-origin', neighbour.endpoint, 'goodbye for another member');
          return;
        }
        this.#removeNeighbour(neighbour, message.reason);
        return;
      default:
        this.#drop('unexpected', neighbour.endpoint, message.type);
    }
  }

  #onSourceGoodbye(memberId: MemberId, reason: GoodbyeReason, now: Instant): void {
    if (memberId === NO_MEMBER) {
      // The stream ends: relay what we owe at once, wait for relays in flight, play out.
      if (this.#state !== 'streaming') return;
      this.#state = 'draining';
      this.#burstRelay();
      const drain = this.config.drainMillis ?? Math.max(500, 4 * this.#chunkIntervalMillis);
      this.#drainDeadline = now + drain;
      this.#helloRoundAt = null;
      this.#reportAt = null;
      this.#context.emit({
        name: 'stream-end',
        level: 'info',
        fields: { reason, drainMillis: drain },
      });
      return;
    }
    if (memberId === this.#memberId) {
      this.#context.emit({ name: 'peer-expel', level: 'error', fields: { reason } });
      this.#finish(`removed by the source: ${reason}`);
      return;
    }
    // The source tells us about another member (issue 5: expulsions, vanished members).
    const neighbour = this.#neighboursById.get(memberId);
    if (neighbour !== undefined) this.#removeNeighbour(neighbour, reason);
    else this.#markDeparted(memberId);
  }

  // -------------------------------------------------------------------------------------
  // Chunks: window, buffer, relays, play-out

  /**
   * The buffer index of a chunk if it may be stored: payload within the chunk size, number
   * within the window (rule 5). Else the drop is counted and null returned. A chunk from
   * the source beyond the window moves the window (we fell behind); from anyone else it is
   * dropped, so a stray or forged number cannot push the play-out around by more than B.
   */
  #acceptableIndex(chunk: Chunk, from: Endpoint, fromSource: boolean): number | null {
    if (chunk.payload.length > this.#chunkSize) {
      this.#drop('oversized-chunk', from);
      return null;
    }
    // Chunks cut before our accept were relayed (partly) before the others knew us: starting
    // the play-out there would leave holes. The stream starts for us at the accept's next
    // chunk number (a chunk from then on reaches us: our hellos overtake its relays).
    if (!this.#playing && chunkNumberAfter(this.#joinChunkNumber, chunk.chunkNumber)) {
      this.#context.stats.chunksBeforeJoin++;
      return null;
    }
    const buffer = this.#buffer;
    if (!buffer.anchored) {
      buffer.anchor(chunk.chunkNumber);
      this.#lowestIndex = 0;
      this.#highestIndex = 0;
      return 0;
    }
    const index = buffer.indexOf(chunk.chunkNumber);
    const size = this.#bufferSize;
    if (!this.#playing) {
      if (index > this.#highestIndex - size && index < this.#lowestIndex + size) return index;
      if (fromSource) {
        // The source is the authority on where the stream is: start buffering again there.
        this.#context.emit({
          name: 'buffer-resync',
          level: 'warn',
          fields: { chunkNumber: chunk.chunkNumber },
        });
        buffer.anchor(chunk.chunkNumber);
        this.#lowestIndex = 0;
        this.#highestIndex = 0;
        return 0;
      }
      this.#drop('out-of-window', from);
      return null;
    }
    if (index >= this.#playIndex && index < this.#playIndex + size) return index;
    if (fromSource && index >= this.#playIndex + size)
      return this.#skipAhead(chunk.chunkNumber, index);
    this.#drop('out-of-window', from);
    return null;
  }

  /**
   * Stores an accepted chunk (the first copy wins) and plays what is due. `relay`: the
   * source's datagram to relay to everybody, paced (rule 2), or null.
   */
  #storeChunk(
    chunk: Chunk,
    index: number,
    neighbour: Neighbour | null,
    relay: Uint8Array | null,
    now: Instant,
  ): void {
    const buffer = this.#buffer;
    const duplicate = buffer.has(index);
    if (neighbour === null) {
      this.#context.stats.chunksFromSource++;
      if (relay !== null) this.#measureSourceChunk(index, now);
    } else {
      this.#context.stats.chunksFromPeers++;
      // Rule 7: -1 for every chunk received (floored at -threshold, so that a neighbour
      // that was generous and then stops relaying is still dropped within 2 x threshold).
      // Liveness watches neighbours that relayed to us (rule 6: one that stops has
      // vanished); one that never relays is a matter for its debt (rule 7), or an external.
      if (!this.#accounting.has(neighbour.memberId)) {
        this.#accounting.add(neighbour.memberId, this.#streamClock, {
          external: this.#externals.has(neighbour.memberId),
        });
      }
      this.#accounting.received(neighbour.memberId, this.#streamClock);
    }
    if (duplicate) {
      this.#context.stats.chunksDuplicated++;
      return;
    }
    buffer.put(index, chunk.payload);
    this.#repair?.stored(index, chunk.origin);
    if (this.#firstStoredAt === null) {
      this.#firstStoredAt = now;
      this.#firstStoredIndex = index;
    }
    // Rule 2: relay what came from the source, once, to every other member.
    if (relay !== null) {
      this.#startRelay(relay, chunk.chunkNumber, now);
      this.#recentRelays.push({ bytes: relay, index });
      if (this.#recentRelays.length > CATCH_UP_CHUNKS + 1) this.#recentRelays.shift();
    }
    if (index < this.#lowestIndex && !this.#playing) this.#lowestIndex = index;
    if (index > this.#highestIndex) {
      this.#streamClock += index - this.#highestIndex;
      this.#highestIndex = index;
      if (this.#streamClock >= this.#livenessCheckAt) this.#dropSilentNeighbours();
    }
    if (!this.#playing) this.#adjustDelayBeforePlay(now);
    this.#playDue();
    this.#runRepair(now);
  }

  #measureSourceChunk(index: number, now: Instant): void {
    const last = this.#lastSourceChunkAt;
    if (last !== null && index > this.#lastSourceChunkIndex) {
      const gap = now - last;
      const perChunk = gap / (index - this.#lastSourceChunkIndex);
      this.#chunkIntervalMillis += AVERAGE_WEIGHT * (perChunk - this.#chunkIntervalMillis);
      this.#sourceGapMillis =
        this.#sourceGapMillis === null
          ? gap
          : this.#sourceGapMillis + AVERAGE_WEIGHT * (gap - this.#sourceGapMillis);
    }
    if (last === null || index > this.#lastSourceChunkIndex) {
      this.#lastSourceChunkAt = now;
      this.#lastSourceChunkIndex = index;
    }
  }

  #startRelay(datagram: Uint8Array, chunkNumber: number, now: Instant): void {
    // Rule 3: the previous source chunk still has relays to go: send them in a burst now.
    this.#burstRelay();
    const targets = [...this.#neighboursById.values()];
    if (targets.length === 0) return;
    const expectedGap =
      this.#sourceGapMillis ?? (this.#neighboursById.size + 1) * this.#chunkIntervalMillis;
    const spread = Math.min(
      expectedGap,
      this.#relaySpreadChunks * this.#chunkIntervalMillis,
      this.#relaySpreadCapMillis,
    );
    this.#relay = {
      bytes: datagram,
      chunkNumber,
      targets,
      sentTo: new Set(),
      cursor: 0,
      step: spread / targets.length,
      nextAt: now,
    };
    this.#runRelays(now);
  }

  /** Sends the relays that are due (one every `step` ms). */
  #runRelays(now: Instant): void {
    const job = this.#relay;
    if (job === null) return;
    while (job.nextAt <= now) {
      if (!this.#relayOnce(job)) {
        this.#relay = null;
        return;
      }
      job.nextAt += job.step;
    }
  }

  /** Sends a datagram to every neighbour at once (an LRS recovery). */
  #relayToAllNow(datagram: Uint8Array): void {
    for (const neighbour of [...this.#neighboursById.values()]) {
      if (!neighbour.verified) continue;
      this.#context.stats.chunksRelayed++;
      this.#sendBytes(neighbour.endpoint, datagram);
      if (this.#accounting.debts.sent(neighbour.memberId).overThreshold) {
        this.#removeNeighbour(neighbour, 'debt');
      }
    }
  }

  /** Sends every relay left of the current job at once. */
  #burstRelay(): void {
    const job = this.#relay;
    if (job === null) return;
    this.#relay = null;
    while (this.#relayOnce(job)) this.#context.stats.chunksBurst++;
  }

  /** Sends the job's next relay; false when every neighbour has it. */
  #relayOnce(job: RelayJob): boolean {
    while (job.cursor < job.targets.length) {
      const target = job.targets[job.cursor++]!;
      // Skip neighbours dropped since the job started, and anyone that has it already.
      if (this.#neighboursById.get(target.memberId) !== target) continue;
      // Not verified yet: it gets this chunk when it is (see #joinRelays).
      if (!target.verified || job.sentTo.has(target.memberId)) continue;
      job.sentTo.add(target.memberId);
      this.#context.stats.chunksRelayed++;
      this.#sendBytes(target.endpoint, job.bytes);
      // Rule 7: +1 for every chunk sent to it; past the threshold it is dropped.
      if (this.#accounting.debts.sent(target.memberId).overThreshold)
        this.#removeNeighbour(target, 'debt');
      return true;
    }
    return false;
  }

  /**
   * A source that has not measured its ingest rate yet announces its initial estimate
   * (20 ms by default), so an early joiner would turn the time-based delay into too many
   * chunks (500 ms at 64 ms per chunk: 25 instead of 8). Before playing, once a few chunks
   * came, the interval they arrived at is measured and the delay recomputed; only ever
   * shortened (an interval measured across late relays reads short, so errors lean long).
   */
  #adjustDelayBeforePlay(now: Instant): void {
    if (this.config.playoutDelayChunks !== null || this.#firstStoredAt === null) return;
    const span = this.#highestIndex - this.#firstStoredIndex;
    if (span < MEASURE_CHUNKS) return;
    const measured = (now - this.#firstStoredAt) / span;
    // Within 25% of the announced interval: the accept was right.
    if (!(measured > this.#chunkIntervalMillis * 1.25)) return;
    const delay = playoutDelayFor({
      bufferSize: this.#bufferSize,
      chunkIntervalMillis: measured,
      monitor: this.#monitor,
      repair: this.config.repair,
      playoutDelayMillis: this.config.playoutDelayMillis,
      playoutDelayChunks: null,
    });
    if (delay.chunks >= this.#playoutDelay) return;
    this.#context.emit({
      name: 'config-adjust',
      level: 'info',
      fields: {
        option: 'playoutDelayMillis',
        requested: this.config.playoutDelayMillis,
        used: delay.chunks,
        previous: this.#playoutDelay,
        why: `chunks arrive every ${measured.toFixed(1)} ms, not the ${this.#chunkIntervalMillis.toFixed(1)} ms the join accept announced`,
      },
    });
    this.#chunkIntervalMillis = measured;
    this.#playoutDelay = delay.chunks;
    if (this.config.relaySpreadChunks === null)
      this.#relaySpreadChunks = Math.max(1, Math.floor(delay.chunks / 2));
    this.#repair?.adjustDelay(
      delay.chunks,
      this.config.relaySpreadChunks ?? Math.max(1, Math.floor(delay.peerChunks / 2)),
    );
  }

  /** Plays every chunk that is `playoutDelay` behind the newest one (rule 5). */
  #playDue(): void {
    if (!this.#playing) {
      if (this.#highestIndex - this.#lowestIndex < this.#playoutDelay) return;
      this.#playing = true;
      this.#playIndex = this.#lowestIndex;
      this.#context.emit({
        name: 'play-start',
        level: 'info',
        fields: {
          chunkNumber: this.#buffer.numberOf(this.#playIndex),
          bufferedChunks: this.#buffer.filled,
        },
      });
    }
    while (this.#highestIndex - this.#playIndex >= this.#playoutDelay) this.#playOne();
  }

  #playOne(): void {
    const buffer = this.#buffer;
    const index = this.#playIndex;
    const chunkNumber = buffer.numberOf(index);
    const payload = buffer.take(index);
    this.#playIndex = index + 1;
    buffer.rebase(this.#playIndex);
    if (payload !== null) {
      this.#context.stats.chunksPlayed++;
      this.#context.stats.bytesPlayed += payload.length;
    } else {
      this.#context.stats.chunksLost++;
      // Debug: at 1% loss this is a line a second; the counters carry it to logs and metrics.
      this.#context.emit({
        name: 'chunk-lost',
        level: 'debug',
        fields: { chunkNumber, lost: this.#context.stats.chunksLost },
      });
      // Rule 8: monitors complain about chunks missing at play time (once: repair may have).
      if (this.#monitor && this.#state === 'streaming' && !this.#repair?.reported(index)) {
        this.#send(this.config.source, {
          type: 'lost-chunk',
          memberId: this.#memberId,
          chunkNumber,
        });
      }
    }
    this.#context.push({ type: 'play', chunkNumber, payload });
  }

  /** RMS-lite: asks neighbours for the chunks that are overdue (chunk-repair.ts). */
  #runRepair(now: Instant): void {
    const repair = this.#repair;
    if (repair === null || this.#state !== 'streaming' || !this.#buffer.anchored) return;
    for (const request of repair.poll(now, this.#repairView)) {
      const neighbour = this.#neighboursById.get(request.memberId);
      if (neighbour === undefined) continue;
      this.#send(neighbour.endpoint, {
        type: 'chunk-request',
        memberId: this.#memberId,
        chunkNumber: request.chunkNumber,
      });
    }
    // Rule 8 and LRS, early: what repair cannot get was most likely lost on the source's hop.
    for (const chunkNumber of repair.takeUnrepairable()) {
      if (this.#monitor) {
        this.#send(this.config.source, {
          type: 'lost-chunk',
          memberId: this.#memberId,
          chunkNumber,
        });
      }
    }
  }

  /** The buffer as the repair reads it (one object: no allocation per step). */
  readonly #repairView: RepairView = (() => {
    const core = this;
    return {
      get playIndex() {
        return core.#playing ? core.#playIndex : core.#lowestIndex;
      },
      get highestIndex() {
        return core.#highestIndex;
      },
      has: (index: number) => core.#buffer.has(index),
      numberOf: (index: number) => core.#buffer.numberOf(index),
      get chunkIntervalMillis() {
        return core.#chunkIntervalMillis;
      },
      get neighbourCount() {
        return core.#neighboursById.size;
      },
      verifiedNeighbours: () =>
        [...core.#neighboursById.values()]
          .filter((neighbour) => neighbour.verified)
          .map((neighbour) => neighbour.memberId),
      isVerified: (memberId: MemberId) => core.#neighboursById.get(memberId)?.verified === true,
    };
  })();

  /**
   * Answers a chunk-request from our buffer, flagged recovered, unless rate-limited. Not
   * charged to the requester's debt (rule 7; chunk-repair.ts says why).
   */
  #answerRepair(neighbour: Neighbour, chunkNumber: number, now: Instant): void {
    const buffer = this.#buffer;
    const index = buffer.anchored ? buffer.indexOf(chunkNumber) : null;
    const payload = index === null ? null : buffer.peek(index);
    const answer = this.#repair?.answer(neighbour.memberId, chunkNumber, index, payload, now);
    if (answer !== undefined && answer !== null) {
      this.#sendBytes(neighbour.endpoint, encodeDatagram(answer));
    }
  }

  /** A source chunk beyond the window: we fell behind; play (or skip) up to it. */
  #skipAhead(chunkNumber: number, index: number): number {
    const behind = index - (this.#playIndex + this.#bufferSize - 1);
    if (behind > 4 * this.#bufferSize) {
      // Too far to play nulls one by one: count them lost and buffer again from here.
      this.#context.stats.chunksLost += index - this.#playIndex;
      this.#context.emit({
        name: 'buffer-resync',
        level: 'warn',
        fields: {
          chunkNumber,
          skippedChunks: index - this.#playIndex,
        },
      });
      this.#buffer.anchor(chunkNumber);
      this.#playing = false;
      this.#lowestIndex = 0;
      this.#highestIndex = 0;
      return 0;
    }
    const target = this.#playIndex + behind;
    while (this.#playIndex < target) this.#playOne();
    return this.#buffer.indexOf(chunkNumber);
  }

  // -------------------------------------------------------------------------------------
  // Neighbours

  #addNeighbour(
    memberId: MemberId,
    endpoint: Endpoint,
    via: NeighbourVia,
    verified: boolean,
  ): Neighbour | null {
    if (this.#departed.has(memberId)) return null;
    const existing = this.#neighboursById.get(memberId);
    const key = formatEndpoint(endpoint);
    if (existing !== undefined) {
      // Known at another endpoint. Only move it while it never answered there (the list
      // gave an endpoint that does not work from here, e.g. behind the same NAT); a
      // reachable member is not taken over by whoever claims its id.
      if (existing.reachable || this.#neighboursByKey.has(key)) return null;
      this.#neighboursByKey.delete(existing.key);
      existing.endpoint = { address: endpoint.address, port: endpoint.port };
      existing.key = key;
      this.#neighboursByKey.set(key, existing);
      // The new address has to prove itself like any claim (else a spoofed hello could aim
      // the relays of a listed member that never answered at another address).
      if (existing.verified) {
        existing.verified = false;
        this.#unverified++;
      }
      existing.hellosLeft = this.config.helloAttempts;
      this.#context.emit({
        name: 'neighbour-move',
        level: 'info',
        fields: { memberId, endpoint: key, via },
      });
      return existing;
    }
    if (this.#neighboursById.size >= this.config.maxNeighbours) return null;
    if (!verified && this.#unverified >= MAX_UNVERIFIED) return null;
    const neighbour: Neighbour = {
      memberId,
      endpoint: { address: endpoint.address, port: endpoint.port },
      key,
      reachable: false,
      verified,
      nonce: Math.floor(this.config.random.next() * 0x1_0000_0000) >>> 0,
      hellosLeft: this.config.helloAttempts,
      candidates: [],
    };
    this.#neighboursById.set(memberId, neighbour);
    this.#neighboursByKey.set(key, neighbour);
    if (!verified) this.#unverified++;
    this.#context.emit({
      name: 'neighbour-add',
      level: 'debug',
      fields: {
        memberId,
        endpoint: key,
        via,
        verified,
        neighbours: this.#neighboursById.size,
      },
    });
    if (verified) this.#joinRelays(neighbour);
    return neighbour;
  }

  /** It answered our nonce: it really is at that address. From now on it gets relays. */
  #verify(neighbour: Neighbour): void {
    neighbour.verified = true;
    this.#unverified--;
    this.#joinRelays(neighbour);
  }

  /**
   * A neighbour that can be sent relays gets the source chunk being relayed, and the last
   * ones relayed before, while they can still be played: it just joined, and the chunks
   * between its accept and our learning of it would otherwise be holes.
   */
  #joinRelays(neighbour: Neighbour): void {
    if (this.#relay !== null && !this.#relay.sentTo.has(neighbour.memberId)) {
      this.#relay.targets.push(neighbour);
    }
    this.#catchUp(neighbour);
  }

  #forgetUnverified(neighbour: Neighbour): void {
    if (this.#neighboursById.get(neighbour.memberId) !== neighbour) return;
    this.#neighboursById.delete(neighbour.memberId);
    this.#neighboursByKey.delete(neighbour.key);
    this.#accounting.remove(neighbour.memberId);
    this.#unverified--;
    this.#context.emit({
      name: 'neighbour-drop',
      level: 'debug',
      fields: {
        memberId: neighbour.memberId,
        endpoint: neighbour.key,
        reason: 'unverified',
      },
    });
  }

  #scheduleHelloRound(now: Instant): void {
    if (this.#helloRoundAt === null) this.#helloRoundAt = now + this.config.helloRetryMillis;
  }

  #catchUp(neighbour: Neighbour): void {
    const current = this.#relay?.bytes;
    const oldest = this.#playing ? this.#playIndex : this.#lowestIndex;
    const done = this.#recentRelays.filter((recent) => recent.bytes !== current);
    for (const recent of done.slice(-CATCH_UP_CHUNKS)) {
      if (recent.index < oldest) continue;
      this.#context.stats.chunksRelayed++;
      this.#sendBytes(neighbour.endpoint, recent.bytes);
      this.#accounting.debts.sent(neighbour.memberId);
    }
  }

  /**
   * Rule 6 on the peer's side (issue 5): a neighbour we heard nothing from for 2B chunk
   * times vanished without goodbye (a live one relays a source chunk every round of
   * |T| <= B chunk times, so 2B also forgives one lost relay); dropped without waiting for
   * the source's word. External and liberated members are exempt (they relay nothing).
   */
  #dropSilentNeighbours(): void {
    for (const drop of this.#accounting.expireSilent(this.#streamClock)) {
      const neighbour = this.#neighboursById.get(drop.neighbour);
      if (neighbour !== undefined) this.#removeNeighbour(neighbour, 'silent');
    }
    const timeout = this.#accounting.livenessTimeoutMillis ?? Number.POSITIVE_INFINITY;
    this.#livenessCheckAt = this.#accounting.nextDeadline() ?? this.#streamClock + timeout;
  }

  #removeNeighbour(neighbour: Neighbour, reason: GoodbyeReason | 'debt' | 'silent'): void {
    if (this.#neighboursById.get(neighbour.memberId) !== neighbour) return;
    this.#neighboursById.delete(neighbour.memberId);
    this.#neighboursByKey.delete(neighbour.key);
    if (!neighbour.verified) this.#unverified--;
    const debt = this.#accounting.debts.debt(neighbour.memberId);
    this.#accounting.remove(neighbour.memberId);
    this.#externals.delete(neighbour.memberId);
    // Dropped for debt or silence, it may come back by relaying again (rule 4); gone, it
    // may not.
    if (reason !== 'debt' && reason !== 'silent') this.#markDeparted(neighbour.memberId);
    if (reason === 'silent') {
      this.#context.stats.neighboursSilent++;
      this.#context.emit({
        name: 'neighbour-drop',
        level: 'warn',
        fields: {
          memberId: neighbour.memberId,
          endpoint: neighbour.key,
          reason: 'silent',
          chunkTimes: this.#accounting.livenessTimeoutMillis ?? null,
        },
      });
      return;
    }
    if (reason === 'debt') {
      this.#context.stats.neighboursDropped++;
      this.#context.emit({
        name: 'neighbour-drop',
        level: 'warn',
        fields: {
          memberId: neighbour.memberId,
          endpoint: neighbour.key,
          reason: 'debt',
          debt,
          threshold: this.config.debtThreshold,
        },
      });
      return;
    }
    this.#context.emit({
      name: 'peer-leave',
      level: 'info',
      fields: {
        memberId: neighbour.memberId,
        endpoint: neighbour.key,
        reason,
        neighbours: this.#neighboursById.size,
      },
    });
  }

  #markDeparted(memberId: MemberId): void {
    this.#departed.add(memberId);
    if (this.#departed.size > DEPARTED_MEMORY) {
      const oldest = this.#departed.values().next();
      if (oldest.done !== true) this.#departed.delete(oldest.value);
    }
  }

  // -------------------------------------------------------------------------------------
  // The end (rule 6)

  #stop(): void {
    if (this.#state === 'stopped') return;
    if (this.#state === 'streaming' || this.#state === 'draining') {
      // Relay what we owe, then say goodbye to the source and to everybody.
      this.#burstRelay();
      const goodbye = encodeDatagram({
        type: 'goodbye',
        memberId: this.#memberId,
        reason: 'leaving',
      });
      // Not to unverified ones: a goodbye is no reason to write to an address never proved.
      const targets = [...this.#neighboursById.values()]
        .filter((neighbour) => neighbour.verified)
        .map((neighbour) => neighbour.endpoint);
      if (this.#state === 'streaming') targets.unshift(this.config.source);
      for (const to of targets) {
        for (let copy = 0; copy < GOODBYE_COPIES; copy++) this.#sendBytes(to, goodbye);
      }
    }
    this.#finish('stop');
  }

  /** Stream end: play what the buffer holds, in order, then stop. */
  #endOfStream(reason = 'stream-end'): void {
    this.#drainDeadline = null;
    if (this.#buffer.anchored && this.#buffer.filled > 0) {
      if (!this.#playing) {
        this.#playing = true;
        this.#playIndex = this.#lowestIndex;
      }
      while (this.#playIndex <= this.#highestIndex) this.#playOne();
    }
    this.#finish(reason);
  }

  #fail(code: PeerErrorCode, message: string): void {
    this.#context.emit({ name: 'peer-fail', level: 'error', fields: { code, message } });
    this.#finish(`${code}: ${message}`);
  }

  #finish(reason: string): void {
    if (this.#state === 'stopped') return;
    if (this.#connectionOpen || this.#state === 'connecting' || this.#state === 'joining') {
      this.#connectionOpen = false;
      this.#context.push({ type: 'close', connection: SOURCE_CONNECTION, reason });
    }
    this.#state = 'stopped';
    this.#stopReason = reason;
    this.#relay = null;
    this.#helloRoundAt = null;
    this.#reportAt = null;
    this.#drainDeadline = null;
    this.#context.push({ type: 'stopped', reason });
  }

  // -------------------------------------------------------------------------------------
  // Helpers

  #send(to: Endpoint, message: DatagramMessage): void {
    this.#sendBytes(to, encodeDatagram(message));
  }

  #sendBytes(to: Endpoint, bytes: Uint8Array): void {
    this.#context.sendBytes(to, bytes);
  }

  /** Counts a dropped datagram; the first of each reason is reported (logged once). */
  #drop(reason: PeerDropReason, from: Endpoint, detail?: string): void {
    this.#context.drop(reason, from, detail);
  }
}
