import {
  isFedBySource,
  type LostChunkOutcome,
  type Member,
  type MemberRemoval,
  SourceCluster,
  toMemberInfo,
} from '@p2psp/cluster';
import { answerStunDatagram, isStunDatagram, punchFeasibility } from '@p2psp/nat';
import {
  type ConnectionId,
  type CoreInput,
  type CoreOutput,
  countDrop,
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
  formatEndpoint,
  type GoodbyeReason,
  type Instant,
  type JoinRequest,
  type MemberId,
  NO_MEMBER,
  nextChunkNumber,
  OutputQueue,
  peerListReplies,
  type RefusedReason,
  type SansIoCore,
} from '@p2psp/wire';
import { IngestRate } from './ingest-rate.js';
import {
  type ResolvedSourceConfig,
  resolveSourceConfig,
  type SourceConfig,
  type StreamHeaderSplitter,
} from './source-config.js';
import {
  SOURCE_DROP_REASONS,
  type SourceDropReason,
  type SourceMemberView,
  type SourceStats,
} from './source-types.js';

const NO_SIGNATURE = new Uint8Array(0);
const PLAIN_CHUNK = { nonExclusive: false, recovered: false } as const;
const RECOVERED_CHUNK = { nonExclusive: false, recovered: true } as const;

/**
 * Copies of every goodbye: it is a single datagram nobody acknowledges, and a lost one
 * leaves a peer waiting for a stream that ended (or the source feeding a peer that left).
 * Three independent copies make that p^3 (1e-6 at 1% loss); duplicates are ignored.
 */
const GOODBYE_COPIES = 3;

/**
 * Copies of each introduction (issue 6): a lost one leaves a member behind a filtering NAT
 * apart from the new member for good (nothing else would tell it); the new member's own
 * hellos are retried, this single datagram is not. Peers ignore the repeats.
 */
const INTRODUCTION_COPIES = 3;

/** A TCP connection from a joiner: waiting for its join request, then for its UDP hello. */
interface Join {
  readonly connection: ConnectionId;
  readonly remote: Endpoint;
  readonly decoder: FrameDecoder;
  deadline: Instant;
  /** Set once the join accept went out: the id its hello must carry. */
  memberId: MemberId;
  request: JoinRequest | null;
  /** The members its accept listed: those activated later are sent to it on activation. */
  listed: ReadonlySet<MemberId>;
  /** The connection is still open (the joiner may close it once it read the accept). */
  open: boolean;
}

type SourceState = 'running' | 'stopped';

/**
 * The P2PSP source as a sans-IO core.
 *
 * - Rule 1: chunk n goes to the next member of the round robin (or ACS's weighted round
 *   robin); the destination of the last B chunks is remembered (`destinationOf`).
 * - Rule 4: joins arrive over TCP frames; admission (@p2psp/cluster) decides the role; the
 *   accept carries the configuration, the stream header and the member list; the member is
 *   fed once its UDP hello (with the member id from the accept, from the same IP as the TCP
 *   connection) arrives, which also tells the source its UDP endpoint through any NAT.
 * - Rule 6: goodbyes remove members; `stop` and `ingest-end` say goodbye to everyone.
 * - Rule 8 and LRS: complaints from monitors are charged to the chunk's destination; past
 *   the threshold the member is expelled and everybody is told; with LRS on, a chunk every
 *   monitor lost is resent through a monitor.
 *
 * Live: with no member to feed, chunks are dropped (counted), never queued.
 * Membership, scheduling and accountability are @p2psp/cluster's `SourceCluster`; this core
 * turns its outcomes into datagrams, frames and events.
 */
export class SourceCore implements SansIoCore {
  readonly config: ResolvedSourceConfig;
  /** Membership, round robin, complaints, LRS: the state behind `members()` (issue 5). */
  readonly cluster: SourceCluster;

  readonly #outputs = new OutputQueue();
  readonly #rate: IngestRate;
  #state: SourceState = 'running';

  // Stream header (rule 4: a late joiner's player needs it before any chunk).
  readonly #splitter: StreamHeaderSplitter | null;
  #header: Uint8Array | null;
  /** Capturing the header of a reconnected ingest: it also goes out as chunk data. */
  #headerRecapture = false;

  // Chunking.
  #chunk: Uint8Array;
  #chunkFill = 0;
  #nextChunkNumber = 0;
  /** Payloads of the last B chunks, for LRS resends (slot chunkNumber mod B). */
  readonly #recentPayloads: (Uint8Array | undefined)[];
  readonly #recentNumbers: Float64Array;

  /** Placeholder ports of joiners in the table before their hello (see `#admit`). */
  #placeholderPort = 0;

  /** Members whose hello arrived: listed to joiners, and fed when their role says so. */
  readonly #active = new Set<MemberId>();
  /** Members sent something since the last keepalive round, and when the next round is. */
  readonly #sentSinceKeepalive = new Set<MemberId>();
  #keepaliveAt: Instant | null = null;

  // Joins in progress, by connection and by the member id their hello will carry.
  readonly #joins = new Map<ConnectionId, Join>();
  readonly #joinsByMemberId = new Map<MemberId, Join>();
  /** Join requests that arrived before the header was complete; answered when it is. */
  readonly #joinsWaitingForHeader: Join[] = [];

  // Counters.
  #bytesIngested = 0;
  #chunksCut = 0;
  #chunksSent = 0;
  #chunksDropped = 0;
  #chunkBytesSent = 0;
  #datagramBytesSent = 0;
  #connectionBytesWritten = 0;
  #joinsAccepted = 0;
  #joinsRefused = 0;
  #joinsTimedOut = 0;
  #connectionsRejected = 0;
  #membersLeft = 0;
  #membersExpelled = 0;
  #complaintsReceived = 0;
  #chunksRecovered = 0;
  #stunRequestsAnswered = 0;
  #natPairsImpossible = 0;
  #membersIntroduced = 0;
  readonly #drops: Record<SourceDropReason, number>;

  constructor(config: SourceConfig) {
    this.config = resolveSourceConfig(config);
    const bufferSize = this.config.bufferSize;
    this.cluster = new SourceCluster(this.config.cluster);
    this.#rate = new IngestRate(
      this.config.rateWindowMillis,
      this.config.initialChunkIntervalMillis,
    );
    this.#chunk = new Uint8Array(this.config.chunkSize);
    this.#recentPayloads = new Array<Uint8Array | undefined>(bufferSize).fill(undefined);
    this.#recentNumbers = new Float64Array(bufferSize).fill(-1);
    const header = this.config.header;
    if (header === null) {
      this.#splitter = null;
      this.#header = new Uint8Array(0);
    } else if ('splitter' in header) {
      this.#splitter = header.splitter;
      this.#header = header.splitter.header;
    } else {
      this.#splitter = null;
      this.#header = header.header;
    }
    this.#drops = Object.fromEntries(SOURCE_DROP_REASONS.map((reason) => [reason, 0])) as Record<
      SourceDropReason,
      number
    >;
  }

  // -------------------------------------------------------------------------------------
  // SansIoCore

  handle(input: CoreInput, now: Instant): void {
    switch (input.type) {
      case 'datagram':
        this.#onDatagram(input.from, input.bytes, now);
        return;
      case 'connection-open':
        this.#onConnectionOpen(input.connection, input.remote, now);
        return;
      case 'connection-data':
        this.#onConnectionData(input.connection, input.bytes, now);
        return;
      case 'connection-closed':
        this.#onConnectionClosed(input.connection);
        return;
      case 'ingest-data':
        this.#onIngest(input.bytes, now);
        return;
      case 'ingest-restart':
        this.#onIngestRestart(input.reason);
        return;
      case 'ingest-end':
        this.#finish('stream-end', `ingest ended: ${input.reason}`);
        return;
      case 'stop':
        this.#finish('leaving', 'stop');
        return;
    }
  }

  handleTimeout(now: Instant): void {
    if (this.#state === 'stopped') return;
    for (const join of [...this.#joins.values(), ...this.#joinsByMemberId.values()]) {
      if (
        now >= join.deadline &&
        (this.#joins.has(join.connection) || this.#joinsByMemberId.has(join.memberId))
      ) {
        this.#timeOutJoin(join, now);
      }
    }
    // Rule 6: members silent past the liveness timeout (when configured) are dropped.
    for (const removal of this.cluster.expireSilent(now)) this.#announceRemoval(removal);
    if (this.#keepaliveAt !== null && now >= this.#keepaliveAt) this.#keepalive(now);
  }

  /** A hello-ack to every member sent nothing during the last period (a sign of life). */
  #keepalive(now: Instant): void {
    for (const member of this.#activeMembers()) {
      if (this.#sentSinceKeepalive.has(member.memberId)) continue;
      this.#send(member.endpoint, { type: 'hello-ack', memberId: member.memberId, nonce: 0 });
    }
    this.#sentSinceKeepalive.clear();
    this.#keepaliveAt = this.#active.size > 0 ? now + this.config.keepaliveMillis : null;
  }

  pollTimeout(): Instant | undefined {
    if (this.#state === 'stopped') return undefined;
    let earliest = this.cluster.nextDeadline() ?? Number.POSITIVE_INFINITY;
    if (this.#keepaliveAt !== null) earliest = Math.min(earliest, this.#keepaliveAt);
    for (const join of this.#joins.values()) earliest = Math.min(earliest, join.deadline);
    for (const join of this.#joinsByMemberId.values()) earliest = Math.min(earliest, join.deadline);
    return Number.isFinite(earliest) ? earliest : undefined;
  }

  pollOutput(): CoreOutput | undefined {
    return this.#outputs.shift();
  }

  // -------------------------------------------------------------------------------------
  // Views

  /** The members that completed their join, in join order (the dashboard's view). */
  members(): readonly SourceMemberView[] {
    return this.#activeMembers().map((member) => ({
      memberId: member.memberId,
      endpoint: member.endpoint,
      privateEndpoint: member.privateEndpoint,
      nat: member.nat,
      role: member.role,
      monitor: member.role === 'monitor',
      joinedAt: member.joinedAt,
      chunksSent: member.chunksSent,
      complaints: member.complaints,
    }));
  }

  /** The member chunk `chunkNumber` went to, if it is among the last B chunks (rule 1). */
  destinationOf(chunkNumber: number): MemberId | undefined {
    return this.cluster.destinations.destinationOf(chunkNumber);
  }

  /** The stream header, or null while it is still being captured from the ingest. */
  header(): Uint8Array | null {
    return this.#header;
  }

  /** The current chunk interval estimate, from the ingest rate. */
  chunkIntervalMillis(): number {
    return this.#rate.chunkIntervalMillis(this.config.chunkSize);
  }

  stats(): SourceStats {
    const active = this.#activeMembers();
    return {
      bytesIngested: this.#bytesIngested,
      headerBytes: this.#header?.length ?? 0,
      chunksCut: this.#chunksCut,
      chunksSent: this.#chunksSent,
      chunksDropped: this.#chunksDropped,
      chunkBytesSent: this.#chunkBytesSent,
      datagramBytesSent: this.#datagramBytesSent,
      connectionBytesWritten: this.#connectionBytesWritten,
      joinsAccepted: this.#joinsAccepted,
      joinsRefused: this.#joinsRefused,
      joinsTimedOut: this.#joinsTimedOut,
      connectionsRejected: this.#connectionsRejected,
      membersLeft: this.#membersLeft,
      membersExpelled: this.#membersExpelled,
      complaintsReceived: this.#complaintsReceived,
      chunksRecovered: this.#chunksRecovered,
      stunRequestsAnswered: this.#stunRequestsAnswered,
      natPairsImpossible: this.#natPairsImpossible,
      membersIntroduced: this.#membersIntroduced,
      datagramsDropped: { ...this.#drops },
      members: active.length,
      monitors: active.filter((member) => member.role === 'monitor').length,
      fedMembers: this.cluster.scheduler.size,
      joining: this.#joinsByMemberId.size + this.#joins.size - this.#acceptedStillConnected(),
      chunkIntervalMillis: this.chunkIntervalMillis(),
      nextChunkNumber: this.#nextChunkNumber,
    };
  }

  // -------------------------------------------------------------------------------------
  // Ingest and chunking (rule 1)

  #onIngest(bytes: Uint8Array, now: Instant): void {
    if (this.#state === 'stopped') return;
    this.#bytesIngested += bytes.length;
    this.#rate.add(now, bytes.length);
    let media = bytes;
    if (this.#splitter !== null && this.#header === null) {
      // Hold the media back until the header is complete: chunks only carry what follows it.
      media = this.#splitter.push(bytes);
      const header = this.#splitter.header;
      if (header === null) return;
      this.#header = header;
      if (this.#headerRecapture) {
        this.#headerRecapture = false;
        this.#outputs.event('header-capture', 'info', { bytes: header.length, restart: true });
        // Players already playing need the new stream's header too, in order, as data: for
        // Ogg that makes a chained stream (RFC 3533 section 4: new BOS pages after the old).
        if (header.length > 0) media = concatBytes(header, media);
      } else {
        this.#outputs.event('header-capture', 'info', { bytes: header.length });
      }
      this.#answerJoinsWaitingForHeader(now);
    }
    let offset = 0;
    while (offset < media.length) {
      const take = Math.min(this.config.chunkSize - this.#chunkFill, media.length - offset);
      this.#chunk.set(media.subarray(offset, offset + take), this.#chunkFill);
      this.#chunkFill += take;
      offset += take;
      if (this.#chunkFill === this.config.chunkSize) this.#emitChunk();
    }
  }

  /**
   * The ingest reconnected: its next bytes start a new stream (an Icecast mount restarted
   * sends new Ogg header pages, with new serial numbers). Joins wait for its header, so a
   * late joiner's player never gets the old header before the new stream's pages.
   */
  #onIngestRestart(reason: string): void {
    if (this.#state === 'stopped') return;
    this.#outputs.event('ingest-restart', 'info', { reason });
    if (this.#splitter?.restart === undefined) return;
    this.#splitter.restart();
    // Only a header already handed out must also reach the players as data.
    if (this.#header !== null) this.#headerRecapture = true;
    this.#header = null;
  }

  /** Sends the chunk being filled to the next member (rule 1), or drops it when alone. */
  #emitChunk(): void {
    const payload = this.#chunk.subarray(0, this.#chunkFill);
    const chunkNumber = this.#nextChunkNumber;
    this.#nextChunkNumber = nextChunkNumber(chunkNumber);
    this.#chunksCut++;
    this.#chunk = new Uint8Array(this.config.chunkSize);
    this.#chunkFill = 0;
    const slot = chunkNumber % this.config.bufferSize;
    this.#recentPayloads[slot] = payload;
    this.#recentNumbers[slot] = chunkNumber;
    const member = this.cluster.nextDestination(chunkNumber);
    if (member === undefined) {
      this.#chunksDropped++;
      if (this.#chunksDropped === 1) {
        this.#outputs.event('chunk-drop', 'info', {
          chunkNumber,
          reason: 'no member to feed: the stream is live, chunks are not queued',
        });
      }
      return;
    }
    this.#chunksSent++;
    this.#chunkBytesSent += payload.length;
    this.#sentSinceKeepalive.add(member.memberId);
    this.#send(member.endpoint, {
      type: 'chunk',
      chunkNumber,
      origin: member.memberId,
      flags: PLAIN_CHUNK,
      payload,
      signature: NO_SIGNATURE,
    });
  }

  // -------------------------------------------------------------------------------------
  // Joins over TCP (rule 4)

  #onConnectionOpen(connection: ConnectionId, remote: Endpoint, now: Instant): void {
    if (this.#state === 'stopped') {
      this.#outputs.push({ type: 'close', connection, reason: 'source stopped' });
      return;
    }
    if (this.#joins.has(connection)) return;
    this.#joins.set(connection, {
      connection,
      remote,
      decoder: new FrameDecoder({ maxFrameBytes: this.config.maxFrameBytes }),
      deadline: now + this.config.joinTimeoutMillis,
      memberId: NO_MEMBER,
      request: null,
      listed: new Set(),
      open: true,
    });
  }

  #onConnectionData(connection: ConnectionId, bytes: Uint8Array, now: Instant): void {
    const join = this.#joins.get(connection);
    // Bytes after the join request (or on a connection we no longer track) mean nothing.
    if (join === undefined || join.request !== null) return;
    join.decoder.push(bytes);
    for (const result of join.decoder) {
      if (!result.ok) {
        this.#rejectConnection(join, `${result.error.code}: ${result.error.detail}`);
        return;
      }
      if (result.message.type !== 'join-request') {
        this.#rejectConnection(join, `unexpected frame ${result.message.type}`);
        return;
      }
      join.request = result.message;
      if (this.#header === null) {
        this.#joinsWaitingForHeader.push(join);
        return;
      }
      this.#admit(join, result.message, now);
      return;
    }
  }

  #onConnectionClosed(connection: ConnectionId): void {
    const join = this.#joins.get(connection);
    if (join === undefined) return;
    join.open = false;
    // A joiner that was accepted may close its connection and still send its hello.
    if (join.memberId === NO_MEMBER) this.#forgetJoin(join, 'closed by the joiner');
  }

  #rejectConnection(join: Join, reason: string): void {
    this.#connectionsRejected++;
    this.#outputs.event('connection-reject', 'warn', {
      remote: formatEndpoint(join.remote),
      reason,
    });
    this.#forgetJoin(join, `protocol error: ${reason}`);
  }

  #answerJoinsWaitingForHeader(now: Instant): void {
    for (const join of this.#joinsWaitingForHeader.splice(0)) {
      if (join.open && join.request !== null) this.#admit(join, join.request, now);
    }
  }

  /**
   * Admission (@p2psp/cluster): the joiner enters the table now, at its TCP endpoint, and
   * is fed only once its hello gives its UDP endpoint.
   */
  #admit(join: Join, request: JoinRequest, now: Instant): void {
    const outcome = this.cluster.join(
      {
        // Until its hello the member is listed under a placeholder endpoint: its TCP port
        // may equal another member's UDP port on the same host (two port spaces), and the
        // table would take the joiner for that member restarting. Ports above 65535 never
        // name a real UDP endpoint; admission looks at the address only.
        endpoint: { address: join.remote.address, port: this.#nextPlaceholderPort() },
        role: request.role,
        nat: request.nat,
        credential: request.credential,
        privateEndpoint: request.privateEndpoint,
      },
      now,
    );
    if (outcome.replaced !== null) this.#announceRemoval(outcome.replaced);
    if (outcome.kind === 'refused') {
      this.#refuse(join, outcome.reason, outcome.message);
      return;
    }
    // Not fed before its hello (`feedOnJoin: false`): its UDP endpoint is unknown until then.
    const member = outcome.member;
    join.memberId = member.memberId;
    join.deadline = now + this.config.joinTimeoutMillis;
    this.#joinsByMemberId.set(member.memberId, join);
    const active = this.#activeMembers();
    join.listed = new Set(active.map((other) => other.memberId));
    // Issue 6: members it cannot reach even with hole punching are not listed (counted).
    const listed = this.#punchable(member, active);
    const monitors = listed.filter((other) => other.role === 'monitor').length;
    const accepted = this.#write(join.connection, {
      type: 'join-accept',
      memberId: member.memberId,
      observedEndpoint: join.remote,
      chunkSize: this.config.chunkSize,
      bufferSize: this.config.bufferSize,
      monitorCount: monitors + (member.role === 'monitor' ? 1 : 0),
      chunkIntervalMicros: Math.max(1, Math.round(this.chunkIntervalMillis() * 1000)),
      nextChunkNumber: this.#nextChunkNumber,
      mediaType: this.config.mediaType,
      header: this.#header ?? new Uint8Array(0),
      // The joiner's own entry comes first: its flags tell it its role (monitor, external),
      // which the accept has no other field for. Peers skip their own id as a neighbour.
      members: [{ ...toMemberInfo(member), endpoint: join.remote }, ...listed.map(toMemberInfo)],
    });
    if (!accepted) {
      this.#joinsByMemberId.delete(member.memberId);
      this.cluster.leave(member.memberId, 'leaving', now);
      join.memberId = NO_MEMBER;
      this.#refuse(join, 'not-accepting', 'the source cannot encode its join accept (see its log)');
      return;
    }
    this.#joinsAccepted++;
    this.#outputs.event('join-accept', 'info', {
      memberId: member.memberId,
      remote: formatEndpoint(join.remote),
      role: member.role,
      reason: outcome.reason,
    });
  }

  #refuse(join: Join, reason: RefusedReason, message: string): void {
    this.#joinsRefused++;
    this.#write(join.connection, { type: 'join-refused', reason, redirect: null, message });
    this.#outputs.event('join-refuse', 'warn', {
      remote: formatEndpoint(join.remote),
      reason,
      message,
    });
    this.#forgetJoin(join, `join refused: ${reason}`);
  }

  #timeOutJoin(join: Join, now: Instant): void {
    this.#joinsTimedOut++;
    this.#outputs.event('join-timeout', 'warn', {
      code: 'P2PSP_ERR_JOIN_TIMEOUT',
      remote: formatEndpoint(join.remote),
      waitedFor: join.memberId === NO_MEMBER ? 'join-request' : 'hello',
      timeoutMillis: this.config.joinTimeoutMillis,
    });
    if (join.memberId !== NO_MEMBER) this.cluster.leave(join.memberId, 'timeout', now);
    this.#forgetJoin(join, 'join timeout');
  }

  /** Drops a join in progress and closes its connection (the driver flushes writes first). */
  #forgetJoin(join: Join, reason: string): void {
    this.#joins.delete(join.connection);
    if (join.memberId !== NO_MEMBER) this.#joinsByMemberId.delete(join.memberId);
    const waiting = this.#joinsWaitingForHeader.indexOf(join);
    if (waiting >= 0) this.#joinsWaitingForHeader.splice(waiting, 1);
    if (join.open) {
      join.open = false;
      this.#outputs.push({ type: 'close', connection: join.connection, reason });
    }
  }

  // -------------------------------------------------------------------------------------
  // Datagrams

  #onDatagram(from: Endpoint, bytes: Uint8Array, now: Instant): void {
    if (this.#state === 'stopped') {
      this.#drop('stopped', from);
      return;
    }
    // Issue 6: the source is its cluster's STUN server (plain RFC 8489 Binding), on the
    // cluster port itself. RFC 8489 section 5 / RFC 7983 demultiplexing: the two top bits
    // zero and the magic cookie; a P2PSP datagram never carries the cookie there.
    if (isStunDatagram(bytes)) {
      this.#onStun(from, bytes);
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) {
      this.#drop('malformed', from, decoded.error.code);
      return;
    }
    const message = decoded.message;
    const known = this.cluster.members.byEndpoint(from);
    const member = known !== undefined && this.#active.has(known.memberId) ? known : undefined;
    if (message.type === 'hello') {
      this.#onHello(from, message.memberId, message.nonce, member, now);
      return;
    }
    if (member === undefined) {
      // A goodbye's extra copies arrive after the member is gone: nothing to count.
      if (message.type !== 'goodbye') this.#drop('non-member', from, message.type);
      return;
    }
    this.cluster.heard(from, now);
    this.#onMemberMessage(member, message, from, now);
  }

  /** A STUN Binding request: answered with the endpoint we see (XOR-MAPPED-ADDRESS). */
  #onStun(from: Endpoint, bytes: Uint8Array): void {
    const reply = answerStunDatagram(bytes, from, { software: 'p2psp source' });
    if (reply === null) {
      this.#drop('malformed', from, 'STUN datagram that is not a valid request');
      return;
    }
    this.#stunRequestsAnswered++;
    this.#datagramBytesSent += reply.length;
    this.#outputs.push({ type: 'send-datagram', to: from, bytes: reply });
  }

  #onHello(
    from: Endpoint,
    memberId: MemberId,
    nonce: number,
    member: Member | undefined,
    now: Instant,
  ): void {
    if (member !== undefined) {
      // A retried hello (the ack was lost), or a keepalive: answer again.
      if (member.memberId !== memberId) {
        this.#drop('member-mismatch', from, 'hello');
        return;
      }
      this.cluster.heard(from, now);
      this.#send(from, { type: 'hello-ack', memberId, nonce });
      return;
    }
    const join = this.#joinsByMemberId.get(memberId);
    if (join === undefined) {
      this.#drop(this.#active.has(memberId) ? 'member-mismatch' : 'non-member', from, 'hello');
      return;
    }
    // The hello must come from the host that joined over TCP (the same public IP through a
    // NAT), so a third party cannot claim a member id it overheard.
    if (hostOf(from.address) !== hostOf(join.remote.address)) {
      this.#drop('member-mismatch', from, 'hello');
      return;
    }
    this.#joinsByMemberId.delete(memberId);
    this.#joins.delete(join.connection);
    if (join.open) {
      join.open = false;
      this.#outputs.push({ type: 'close', connection: join.connection, reason: 'joined' });
    }
    // Records its UDP endpoint and feeds it from the end of the round (rule 4: "then the
    // source appends it"); a member still listed at that endpoint restarted without a
    // goodbye and is removed as stale.
    const activated = this.cluster.activate(
      memberId,
      { address: from.address, port: from.port },
      now,
    );
    if (activated === undefined) return;
    if (activated.replaced !== null) this.#announceRemoval(activated.replaced);
    const joined = activated.member;
    this.#active.add(memberId);
    this.#sentSinceKeepalive.add(memberId);
    if (this.#keepaliveAt === null && this.config.keepaliveMillis > 0) {
      this.#keepaliveAt = now + this.config.keepaliveMillis;
    }
    this.#send(from, { type: 'hello-ack', memberId, nonce });
    // Members activated since its accept (joins that overlapped) are not in its list, and
    // it is not in theirs: without this, neither would ever hello the other.
    const others = this.#activeMembers().filter((other) => other.memberId !== memberId);
    const missed = this.#punchable(
      joined,
      others.filter((other) => !join.listed.has(other.memberId)),
    );
    if (missed.length > 0) {
      for (const page of peerListReplies(missed.map(toMemberInfo))) this.#send(from, page);
    }
    // Issue 6 (NTS rendezvous): the members listed in its accept are told about it now, so
    // they hello it while its hellos to them are still being retried. Each side's hellos
    // open its own NAT towards the other, so restricted and port-restricted cones let the
    // next round through. Before this, a member behind a filtering NAT dropped every
    // later joiner's hellos and never learnt of it (docs/simulation.md, NAT finding).
    const introduction = peerListReplies([toMemberInfo(joined)]);
    for (const other of others) {
      if (!join.listed.has(other.memberId) || !exchangesChunks(joined, other)) continue;
      if (!filtersStrangers(other)) continue;
      if (!punchPossible(joined, other).possible) continue;
      this.#membersIntroduced++;
      for (let copy = 0; copy < INTRODUCTION_COPIES; copy++) {
        for (const page of introduction) this.#send(other.endpoint, page);
      }
    }
    this.#outputs.event('peer-join', 'info', {
      memberId,
      endpoint: formatEndpoint(from),
      role: joined.role,
      members: this.#active.size,
    });
  }

  #onMemberMessage(member: Member, message: DatagramMessage, from: Endpoint, now: Instant): void {
    switch (message.type) {
      case 'goodbye': {
        if (message.memberId !== member.memberId) {
          this.#drop('member-mismatch', from, 'goodbye');
          return;
        }
        const removal = this.cluster.leave(member.memberId, message.reason, now);
        if (removal !== undefined) this.#noteRemoval(removal);
        return;
      }
      case 'lost-chunk':
        this.#onComplaint(member, this.cluster.lostChunk(from, message.chunkNumber, now));
        return;
      case 'peer-list-request':
        for (const page of peerListReplies(this.#activeMembers().map(toMemberInfo))) {
          this.#send(from, page);
        }
        return;
      case 'stats-report':
        this.#outputs.event('stats-receive', 'debug', {
          memberId: member.memberId,
          chunksReceived: message.chunksReceived,
          chunksLost: message.chunksLost,
          chunksPlayed: message.chunksPlayed,
          neighbours: message.neighbours,
        });
        return;
      default:
        this.#drop('unexpected', from, message.type);
    }
  }

  /** Rule 8 and LRS: what a [lost chunk] caused, turned into datagrams and events. */
  #onComplaint(member: Member, outcome: LostChunkOutcome): void {
    this.#complaintsReceived++;
    const complaint = outcome.complaint;
    this.#outputs.event('complaint-receive', 'debug', {
      from: member.memberId,
      chunkNumber: complaint.chunkNumber,
      outcome: complaint.kind,
      charged: complaint.kind === 'charged' ? complaint.memberId : null,
      count: complaint.kind === 'charged' ? complaint.count : null,
      ignored: complaint.kind === 'ignored' ? complaint.reason : null,
    });
    const recovery = outcome.recovery;
    if (recovery?.kind === 'resend') this.#resend(recovery.chunkNumber, recovery.via);
    for (const removal of outcome.expulsions) {
      this.#membersExpelled++;
      // The expelled member is told why; everybody else is told to drop it.
      this.#sendGoodbye(removal.member.endpoint, removal.member.memberId, 'expelled');
      this.#announceRemoval(removal);
    }
  }

  /** LRS: resends a chunk every monitor lost through the monitor `via`, flagged recovered. */
  #resend(chunkNumber: number, via: MemberId): void {
    const slot = chunkNumber % this.config.bufferSize;
    const payload = this.#recentPayloads[slot];
    const monitor = this.cluster.members.get(via);
    if (
      payload === undefined ||
      this.#recentNumbers[slot] !== chunkNumber ||
      monitor === undefined
    ) {
      return;
    }
    this.#chunksRecovered++;
    this.#send(monitor.endpoint, {
      type: 'chunk',
      chunkNumber,
      origin: via,
      flags: RECOVERED_CHUNK,
      payload,
      signature: NO_SIGNATURE,
    });
  }

  /** A member left: counted and reported. */
  #noteRemoval(removal: MemberRemoval): void {
    this.#active.delete(removal.member.memberId);
    this.#membersLeft++;
    this.#outputs.event(removal.reason === 'expelled' ? 'peer-expel' : 'peer-leave', 'info', {
      memberId: removal.member.memberId,
      endpoint: formatEndpoint(removal.member.endpoint),
      reason: removal.reason,
      complaints: removal.member.complaints,
      members: this.#active.size,
    });
  }

  /** A member was removed by the source (expelled, silent): every member is told to drop it. */
  #announceRemoval(removal: MemberRemoval): void {
    const wasActive = this.#active.has(removal.member.memberId);
    this.#noteRemoval(removal);
    if (!wasActive) return;
    const reason = removal.reason === 'debt' ? 'expelled' : removal.reason;
    for (const member of this.#activeMembers()) {
      this.#sendGoodbye(member.endpoint, removal.member.memberId, reason);
    }
  }

  // -------------------------------------------------------------------------------------
  // The end (rule 6)

  #finish(reason: 'stream-end' | 'leaving', detail: string): void {
    if (this.#state === 'stopped') return;
    // The partial last chunk is part of the stream: send it before saying goodbye.
    if (reason === 'stream-end' && this.#chunkFill > 0) this.#emitChunk();
    this.#state = 'stopped';
    for (const member of this.#activeMembers()) {
      this.#sendGoodbye(member.endpoint, NO_MEMBER, reason);
    }
    for (const join of [...this.#joins.values(), ...this.#joinsByMemberId.values()]) {
      this.#forgetJoin(join, 'source stopped');
    }
    this.#outputs.event('source-stop', 'info', { reason: detail, members: this.#active.size });
    this.#outputs.push({
      type: 'stopped',
      reason: reason === 'stream-end' ? 'stream-end' : 'stop',
    });
  }

  // -------------------------------------------------------------------------------------
  // Helpers

  #nextPlaceholderPort(): number {
    this.#placeholderPort = (this.#placeholderPort + 1) % 0x7fff_0000;
    return 0x1_0000 + this.#placeholderPort;
  }

  /**
   * The members of `others` that `member` can reach, directly or by hole punching; the
   * others are counted and reported (P2PSP measured random-port symmetric NATs against
   * port-restricted or symmetric ones never to work). TODO(issue 5, seed 000): serve such
   * pairs through the external-peer path instead of leaving them apart.
   */
  #punchable(member: Member, others: readonly Member[]): Member[] {
    const reachable: Member[] = [];
    for (const other of others) {
      if (!exchangesChunks(member, other)) continue;
      const feasibility = punchPossible(member, other);
      if (feasibility.possible) {
        reachable.push(other);
        continue;
      }
      this.#natPairsImpossible++;
      this.#outputs.event('punch-skip', this.#natPairsImpossible === 1 ? 'warn' : 'debug', {
        memberId: member.memberId,
        nat: member.nat.type,
        otherMemberId: other.memberId,
        otherNat: other.nat.type,
        reason: feasibility.reason ?? null,
        pairsSkipped: this.#natPairsImpossible,
      });
    }
    return reachable;
  }

  #activeMembers(): Member[] {
    return this.cluster.members.members().filter((member) => this.#active.has(member.memberId));
  }

  /** Accepted joins whose connection is still tracked (counted once in `joining`). */
  #acceptedStillConnected(): number {
    let count = 0;
    for (const join of this.#joins.values()) if (join.memberId !== NO_MEMBER) count++;
    return count;
  }

  #sendGoodbye(to: Endpoint, memberId: MemberId, reason: GoodbyeReason): void {
    const bytes = encodeDatagram({ type: 'goodbye', memberId, reason });
    for (let copy = 0; copy < GOODBYE_COPIES; copy++) {
      this.#datagramBytesSent += bytes.length;
      this.#outputs.push({ type: 'send-datagram', to, bytes });
    }
  }

  #send(to: Endpoint, message: DatagramMessage): void {
    const bytes = encodeDatagram(message);
    this.#datagramBytesSent += bytes.length;
    this.#outputs.push({ type: 'send-datagram', to, bytes });
  }

  /**
   * Frames and writes a message. False when it cannot be encoded (a header over the frame
   * limit, more than 65,535 members): reported as an error event, never thrown at the driver.
   */
  #write(connection: ConnectionId, message: FrameMessage): boolean {
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(message);
    } catch (error) {
      this.#outputs.event('frame-encode-fail', 'error', {
        type: message.type,
        code: (error as { code?: string }).code ?? null,
        message: String((error as Error).message ?? error),
      });
      return false;
    }
    this.#connectionBytesWritten += bytes.length;
    this.#outputs.push({ type: 'write', connection, bytes });
    return true;
  }

  /** Counts a dropped datagram; the first of each reason is reported (logged once). */
  #drop(reason: SourceDropReason, from: Endpoint, detail?: string): void {
    countDrop(this.#outputs, this.#drops, reason, from, detail);
  }
}

/**
 * Whether a member's NAT (or firewall) may drop a hello from a member it never wrote to,
 * so it must be told about new members to punch towards them. Open hosts and full cones
 * take any hello; so does a member whose endpoint the source sees as the one it reported
 * for itself (no NAT in between) when it did not run detection. Skipping those keeps a
 * join at one datagram per member that needs it (the source uploads the stream once).
 */
function filtersStrangers(member: Member): boolean {
  const type = member.nat.type;
  if (type === 'open' || type === 'full-cone') return false;
  if (type !== 'unknown' || member.privateEndpoint === null) return true;
  return !(
    member.privateEndpoint.port === member.endpoint.port &&
    hostOf(member.privateEndpoint.address) === hostOf(member.endpoint.address)
  );
}

/**
 * Whether two members have chunks for each other: at least one is fed by the source and so
 * relays (rule 2). Two external peers (seed 000) never do; introducing them would only
 * spend their NATs' ports (a symmetric NAT opens one per destination, NTS prediction
 * counts on those).
 */
function exchangesChunks(a: Member, b: Member): boolean {
  return isFedBySource(a.role) || isFedBySource(b.role);
}

/**
 * Whether two members can open a UDP path between them (@p2psp/nat's table). Behind the
 * same public address they talk over their private endpoints (EMS), whatever the NAT.
 */
function punchPossible(a: Member, b: Member): { possible: boolean; reason?: string } {
  if (hostOf(a.publicAddress) === hostOf(b.publicAddress)) return { possible: true };
  return punchFeasibility(a.nat.type, b.nat.type);
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2), so a TCP
 * connection seen on a dual-stack socket (`::ffff:10.0.0.5`) matches a UDP hello seen on an
 * IPv4 one (`10.0.0.5`).
 */
function hostOf(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.')
    ? address.slice(7)
    : address;
}

function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}
