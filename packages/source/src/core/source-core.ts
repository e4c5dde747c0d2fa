import {
  type ConnectionId,
  type CoreInput,
  type CoreOutput,
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
  formatEndpoint,
  type Instant,
  type JoinRequest,
  type MemberId,
  type MemberInfo,
  type NatReport,
  NO_MEMBER,
  nextChunkNumber,
  peerListReplies,
  type RefusedReason,
  type SansIoCore,
} from '@p2psp/wire';
import { IngestRate } from './ingest-rate.js';
import { OutputQueue } from './output-queue.js';
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

interface Member {
  readonly memberId: MemberId;
  readonly endpoint: Endpoint;
  readonly endpointKey: string;
  readonly privateEndpoint: Endpoint | null;
  readonly nat: NatReport;
  readonly monitor: boolean;
  readonly joinedAt: Instant;
  chunksSent: number;
}

/** A TCP connection from a joiner: waiting for its join request, then for its UDP hello. */
interface Join {
  readonly connection: ConnectionId;
  readonly remote: Endpoint;
  readonly decoder: FrameDecoder;
  deadline: Instant;
  /** Set once the join accept went out: the id its hello must carry. */
  memberId: MemberId;
  request: JoinRequest | null;
  /** Monitor role granted in the accept. */
  monitor: boolean;
  /** The connection is still open (the joiner may close it once it read the accept). */
  open: boolean;
}

type SourceState = 'running' | 'stopped';

/**
 * The P2PSP source as a sans-IO core.
 *
 * - Rule 1: chunk n goes to the next member of the round robin; the destination of the
 *   last B chunks is remembered (`destinationOf`, for complaints, rule 8).
 * - Rule 4: joins arrive over TCP frames; the accept carries the configuration, the stream
 *   header and the member list; the member enters the round robin once its UDP hello (with
 *   the member id from the accept, from the same IP as the TCP connection) arrives, which
 *   also tells the source its UDP endpoint as seen through any NAT.
 * - Rule 6: goodbyes remove members; `stop` and `ingest-end` say goodbye to everyone.
 *
 * Live: with no members, chunks are dropped (counted), never queued.
 */
export class SourceCore implements SansIoCore {
  readonly config: ResolvedSourceConfig;

  readonly #outputs = new OutputQueue();
  readonly #rate: IngestRate;
  #state: SourceState = 'running';

  // Stream header (rule 4: a late joiner's player needs it before any chunk).
  readonly #splitter: StreamHeaderSplitter | null;
  #header: Uint8Array | null;

  // Chunking.
  #chunk: Uint8Array;
  #chunkFill = 0;
  #nextChunkNumber = 0;

  // Members, in round-robin order (rule 1).
  #roundRobin: Member[] = [];
  #roundRobinIndex = 0;
  readonly #membersById = new Map<MemberId, Member>();
  readonly #membersByEndpoint = new Map<string, Member>();
  #nextMemberId = 1;
  /** Destination of the last B chunks: slot chunkNumber mod B (rule 1). */
  readonly #destinationNumbers: Int32Array;
  readonly #destinationMembers: Uint32Array;
  readonly #destinationKnown: Uint8Array;

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
  #complaintsReceived = 0;
  readonly #drops: Record<SourceDropReason, number>;

  constructor(config: SourceConfig) {
    this.config = resolveSourceConfig(config);
    const bufferSize = this.config.bufferSize;
    this.#rate = new IngestRate(
      this.config.rateWindowMillis,
      this.config.initialChunkIntervalMillis,
    );
    this.#chunk = new Uint8Array(this.config.chunkSize);
    this.#destinationNumbers = new Int32Array(bufferSize);
    this.#destinationMembers = new Uint32Array(bufferSize);
    this.#destinationKnown = new Uint8Array(bufferSize);
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
      case 'ingest-end':
        this.#finish('stream-end', `ingest ended: ${input.reason}`, now);
        return;
      case 'stop':
        this.#finish('leaving', 'stop', now);
        return;
    }
  }

  handleTimeout(now: Instant): void {
    for (const join of [...this.#joins.values()]) {
      if (now >= join.deadline) this.#timeOutJoin(join, now);
    }
    for (const join of [...this.#joinsByMemberId.values()]) {
      if (now >= join.deadline) this.#timeOutJoin(join, now);
    }
  }

  pollTimeout(): Instant | undefined {
    let earliest: Instant | undefined;
    for (const join of this.#joins.values()) {
      if (earliest === undefined || join.deadline < earliest) earliest = join.deadline;
    }
    for (const join of this.#joinsByMemberId.values()) {
      if (earliest === undefined || join.deadline < earliest) earliest = join.deadline;
    }
    return earliest;
  }

  pollOutput(): CoreOutput | undefined {
    return this.#outputs.shift();
  }

  // -------------------------------------------------------------------------------------
  // Views

  /** The member table, in round-robin order (the dashboard's view, issue 5). */
  members(): readonly SourceMemberView[] {
    return this.#roundRobin.map((member) => ({
      memberId: member.memberId,
      endpoint: member.endpoint,
      privateEndpoint: member.privateEndpoint,
      nat: member.nat,
      monitor: member.monitor,
      joinedAt: member.joinedAt,
      chunksSent: member.chunksSent,
    }));
  }

  /** The member chunk `chunkNumber` went to, if it is among the last B chunks (rule 1). */
  destinationOf(chunkNumber: number): MemberId | undefined {
    const slot = (chunkNumber >>> 0) % this.config.bufferSize;
    if (this.#destinationKnown[slot] !== 1) return undefined;
    if (this.#destinationNumbers[slot]! >>> 0 !== chunkNumber >>> 0) return undefined;
    return this.#destinationMembers[slot];
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
    let monitors = 0;
    for (const member of this.#roundRobin) if (member.monitor) monitors++;
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
      complaintsReceived: this.#complaintsReceived,
      datagramsDropped: { ...this.#drops },
      members: this.#roundRobin.length,
      monitors,
      joining: this.#joins.size + this.#joinsByMemberId.size,
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
      this.#outputs.event('header-capture', 'info', { bytes: header.length });
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

  /** Sends the chunk being filled to the next member (rule 1), or drops it when alone. */
  #emitChunk(): void {
    const payload = this.#chunk.subarray(0, this.#chunkFill);
    const chunkNumber = this.#nextChunkNumber;
    this.#nextChunkNumber = nextChunkNumber(chunkNumber);
    this.#chunksCut++;
    this.#chunk = new Uint8Array(this.config.chunkSize);
    this.#chunkFill = 0;
    const slot = chunkNumber % this.config.bufferSize;
    if (this.#roundRobin.length === 0) {
      this.#destinationKnown[slot] = 0;
      this.#chunksDropped++;
      if (this.#chunksDropped === 1) {
        this.#outputs.event('chunk-drop', 'info', {
          chunkNumber,
          reason: 'no members: the stream is live, chunks are not queued',
        });
      }
      return;
    }
    if (this.#roundRobinIndex >= this.#roundRobin.length) this.#roundRobinIndex = 0;
    const member = this.#roundRobin[this.#roundRobinIndex]!;
    this.#roundRobinIndex = (this.#roundRobinIndex + 1) % this.#roundRobin.length;
    this.#destinationNumbers[slot] = chunkNumber | 0;
    this.#destinationMembers[slot] = member.memberId;
    this.#destinationKnown[slot] = 1;
    member.chunksSent++;
    this.#chunksSent++;
    this.#chunkBytesSent += payload.length;
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
      monitor: false,
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
      this.#onJoinRequest(join, result.message, now);
      return;
    }
  }

  #onConnectionClosed(connection: ConnectionId): void {
    const join = this.#joins.get(connection);
    if (join === undefined) return;
    join.open = false;
    // A joiner that was accepted may close its connection and still send its hello.
    if (join.memberId === NO_MEMBER) {
      this.#joins.delete(connection);
      const waiting = this.#joinsWaitingForHeader.indexOf(join);
      if (waiting >= 0) this.#joinsWaitingForHeader.splice(waiting, 1);
    }
  }

  #rejectConnection(join: Join, reason: string): void {
    this.#connectionsRejected++;
    this.#outputs.event('connection-reject', 'warn', {
      remote: formatEndpoint(join.remote),
      reason,
    });
    this.#forgetJoin(join, `protocol error: ${reason}`);
  }

  #onJoinRequest(join: Join, request: JoinRequest, now: Instant): void {
    join.request = request;
    if (request.role === 'liberated') {
      this.#refuse(join, 'not-accepting', 'liberated peers are not supported by this source yet');
      return;
    }
    const credential = this.config.monitorCredential;
    let monitor: boolean;
    if (credential !== null) {
      monitor = request.role === 'monitor';
      if (monitor && !sameBytes(request.credential, credential)) {
        this.#refuse(join, 'bad-credential', 'the monitor credential does not match the source');
        return;
      }
    } else {
      // No credential configured: the first joiner (while the cluster has no monitor) is
      // the monitor (rule 8, P2PSP's default of one trusted monitor).
      monitor = this.#monitorCount() === 0 && !this.#monitorJoining();
      if (request.role === 'monitor' && !monitor) {
        this.#refuse(
          join,
          'bad-credential',
          'the cluster already has its monitor and the source has no monitor credential; start the source with a monitor credential to have more',
        );
        return;
      }
    }
    if (this.#roundRobin.length + this.#joinsByMemberId.size >= this.config.maxMembers) {
      this.#refuse(join, 'cluster-full', `the cluster has ${this.config.maxMembers} members`);
      return;
    }
    join.monitor = monitor;
    if (this.#header === null) {
      this.#joinsWaitingForHeader.push(join);
      return;
    }
    this.#accept(join, now);
  }

  #answerJoinsWaitingForHeader(now: Instant): void {
    for (const join of this.#joinsWaitingForHeader.splice(0)) {
      if (join.open) this.#accept(join, now);
    }
  }

  #accept(join: Join, now: Instant): void {
    const memberId = this.#allocateMemberId();
    join.memberId = memberId;
    join.deadline = now + this.config.joinTimeoutMillis;
    this.#joinsByMemberId.set(memberId, join);
    this.#joinsAccepted++;
    const accepted = this.#write(join.connection, {
      type: 'join-accept',
      memberId,
      observedEndpoint: join.remote,
      chunkSize: this.config.chunkSize,
      bufferSize: this.config.bufferSize,
      monitorCount: this.#monitorCount() + (join.monitor ? 1 : 0),
      chunkIntervalMicros: Math.max(1, Math.round(this.chunkIntervalMillis() * 1000)),
      nextChunkNumber: this.#nextChunkNumber,
      mediaType: this.config.mediaType,
      header: this.#header ?? new Uint8Array(0),
      members: this.#memberInfos(),
    });
    if (!accepted) {
      this.#joinsByMemberId.delete(memberId);
      join.memberId = NO_MEMBER;
      this.#joinsAccepted--;
      this.#refuse(join, 'not-accepting', 'the source cannot encode its join accept (see its log)');
      return;
    }
    this.#outputs.event('join-accept', 'info', {
      memberId,
      remote: formatEndpoint(join.remote),
      monitor: join.monitor,
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
      afterMillis: now - join.deadline + this.config.joinTimeoutMillis,
    });
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
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) {
      this.#drop('malformed', from, decoded.error.code);
      return;
    }
    const message = decoded.message;
    const member = this.#membersByEndpoint.get(formatEndpoint(from));
    if (message.type === 'hello') {
      this.#onHello(from, message.memberId, message.nonce, member, now);
      return;
    }
    if (member === undefined) {
      this.#drop('non-member', from, message.type);
      return;
    }
    this.#onMemberMessage(member, message);
  }

  #onHello(
    from: Endpoint,
    memberId: MemberId,
    nonce: number,
    member: Member | undefined,
    now: Instant,
  ): void {
    if (member !== undefined) {
      // A retried hello (the ack was lost): answer again.
      if (member.memberId !== memberId) {
        this.#drop('member-mismatch', from, 'hello');
        return;
      }
      this.#send(from, { type: 'hello-ack', memberId, nonce });
      return;
    }
    const join = this.#joinsByMemberId.get(memberId);
    if (join === undefined) {
      this.#drop(this.#membersById.has(memberId) ? 'member-mismatch' : 'non-member', from, 'hello');
      return;
    }
    // The hello must come from the host that joined over TCP (the same public IP through a
    // NAT), so a third party cannot claim a member id it overheard.
    if (from.address !== join.remote.address) {
      this.#drop('member-mismatch', from, 'hello');
      return;
    }
    this.#joinsByMemberId.delete(memberId);
    this.#joins.delete(join.connection);
    if (join.open) {
      join.open = false;
      this.#outputs.push({ type: 'close', connection: join.connection, reason: 'joined' });
    }
    const request = join.request;
    const added: Member = {
      memberId,
      endpoint: { address: from.address, port: from.port },
      endpointKey: formatEndpoint(from),
      privateEndpoint: request?.privateEndpoint ?? null,
      nat: request?.nat ?? { type: 'unknown', portStep: 0, mappedEndpoint: null },
      monitor: join.monitor,
      joinedAt: now,
      chunksSent: 0,
    };
    this.#membersById.set(memberId, added);
    this.#membersByEndpoint.set(added.endpointKey, added);
    // Appended at the end of the round (rule 4: "then the source appends it to its list").
    this.#roundRobin.push(added);
    this.#send(from, { type: 'hello-ack', memberId, nonce });
    this.#outputs.event('peer-join', 'info', {
      memberId,
      endpoint: added.endpointKey,
      monitor: added.monitor,
      members: this.#roundRobin.length,
    });
  }

  #onMemberMessage(member: Member, message: DatagramMessage): void {
    switch (message.type) {
      case 'goodbye':
        if (message.memberId !== member.memberId) {
          this.#drop('member-mismatch', member.endpoint, 'goodbye');
          return;
        }
        this.#removeMember(member, message.reason);
        return;
      case 'lost-chunk': {
        // Rule 8 hook: the complaint is charged to the chunk's destination. Expulsion
        // policies live in @p2psp/cluster (issue 5); here it is counted and reported.
        this.#complaintsReceived++;
        const destination = this.destinationOf(message.chunkNumber);
        this.#outputs.event('complaint-receive', member.monitor ? 'info' : 'debug', {
          from: member.memberId,
          monitor: member.monitor,
          chunkNumber: message.chunkNumber,
          destination: destination ?? null,
        });
        return;
      }
      case 'peer-list-request':
        this.#sendPeerList(member);
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
        this.#drop('unexpected', member.endpoint, message.type);
    }
  }

  #sendPeerList(member: Member): void {
    for (const page of peerListReplies(this.#memberInfos())) this.#send(member.endpoint, page);
  }

  #memberInfos(): MemberInfo[] {
    return this.#roundRobin.map((other) => ({
      memberId: other.memberId,
      endpoint: other.endpoint,
      privateEndpoint: other.privateEndpoint,
      flags: { monitor: other.monitor, external: false, liberated: false },
    }));
  }

  #removeMember(member: Member, reason: string): void {
    const index = this.#roundRobin.indexOf(member);
    if (index < 0) return;
    this.#roundRobin.splice(index, 1);
    // Keep the turn of the member after the removed one.
    if (index < this.#roundRobinIndex) this.#roundRobinIndex--;
    if (this.#roundRobinIndex >= this.#roundRobin.length) this.#roundRobinIndex = 0;
    this.#membersById.delete(member.memberId);
    this.#membersByEndpoint.delete(member.endpointKey);
    this.#membersLeft++;
    this.#outputs.event('peer-leave', 'info', {
      memberId: member.memberId,
      endpoint: member.endpointKey,
      reason,
      members: this.#roundRobin.length,
    });
  }

  // -------------------------------------------------------------------------------------
  // The end (rule 6)

  #finish(reason: 'stream-end' | 'leaving', detail: string, _now: Instant): void {
    if (this.#state === 'stopped') return;
    // The partial last chunk is part of the stream: send it before saying goodbye.
    if (reason === 'stream-end' && this.#chunkFill > 0) this.#emitChunk();
    this.#state = 'stopped';
    for (const member of this.#roundRobin) {
      this.#send(member.endpoint, { type: 'goodbye', memberId: NO_MEMBER, reason });
    }
    for (const join of [...this.#joins.values(), ...this.#joinsByMemberId.values()]) {
      this.#forgetJoin(join, 'source stopped');
    }
    this.#outputs.event('source-stop', 'info', {
      reason: detail,
      members: this.#roundRobin.length,
    });
    this.#outputs.push({
      type: 'stopped',
      reason: reason === 'stream-end' ? 'stream-end' : 'stop',
    });
  }

  // -------------------------------------------------------------------------------------
  // Helpers

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
    this.#drops[reason]++;
    if (this.#drops[reason] === 1) {
      this.#outputs.event('datagram-drop', 'warn', {
        reason,
        from: formatEndpoint(from),
        detail: detail ?? null,
        note: 'first of its kind; later ones are only counted (stats().datagramsDropped)',
      });
    }
  }

  #allocateMemberId(): MemberId {
    // Never reused within the source's life (wire MemberId); 0 is NO_MEMBER.
    const memberId = this.#nextMemberId;
    this.#nextMemberId = this.#nextMemberId >= 0xffff_ffff ? 1 : this.#nextMemberId + 1;
    return memberId;
  }

  #monitorCount(): number {
    let count = 0;
    for (const member of this.#roundRobin) if (member.monitor) count++;
    return count;
  }

  #monitorJoining(): boolean {
    for (const join of this.#joinsByMemberId.values()) if (join.monitor) return true;
    for (const join of this.#joinsWaitingForHeader) if (join.monitor) return true;
    return false;
  }
}

/** Compares every byte whatever the first difference, so timing says little (credential). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let index = 0; index < b.length; index++) difference |= (a[index] ?? 0) ^ b[index]!;
  return difference === 0;
}
