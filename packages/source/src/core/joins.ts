import { type SourceCluster, toMemberInfo } from '@p2psp/cluster';
import {
  type ConnectionId,
  type Endpoint,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
  formatEndpoint,
  type Instant,
  type JoinRequest,
  type MemberId,
  NO_MEMBER,
  type RefusedReason,
  unmapIpv4,
} from '@p2psp/wire';
import type { Children } from './children.js';
import type { Chunker } from './chunker.js';
import type { Introductions } from './introductions.js';
import { JoinLimits } from './join-limits.js';
import type { Membership } from './membership.js';
import type { ResolvedSourceConfig } from './source-config.js';
import type { SourceContext } from './source-context.js';

/** The accept's source key from a source that signs nothing. */
const NO_KEY = new Uint8Array(0);

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

/**
 * Rule 4 up to the hello: a joiner opens TCP and sends a join request; admission
 * (@p2psp/cluster) gives a role or a refusal; the accept carries the configuration, the
 * stream header and the member list. A join that stalls (no request, or no hello after the
 * accept) is abandoned at `joinTimeoutMillis` (timer `join-timeout`).
 */
export class Joins {
  readonly #context: SourceContext;
  readonly #config: ResolvedSourceConfig;
  readonly #cluster: SourceCluster;
  readonly #membership: Membership;
  readonly #introductions: Introductions;
  readonly #chunker: Chunker;
  readonly #children: Children;
  readonly #limits: JoinLimits;

  // Joins in progress, by connection and by the member id their hello will carry.
  readonly #joins = new Map<ConnectionId, Join>();
  readonly #joinsByMemberId = new Map<MemberId, Join>();
  /** Join requests that arrived before the header was complete; answered when it is. */
  readonly #waitingForHeader: Join[] = [];
  /** Placeholder ports of joiners in the table before their hello (see `#admit`). */
  #placeholderPort = 0;

  constructor(
    context: SourceContext,
    config: ResolvedSourceConfig,
    cluster: SourceCluster,
    membership: Membership,
    introductions: Introductions,
    chunker: Chunker,
    children: Children,
  ) {
    this.#context = context;
    this.#config = config;
    this.#cluster = cluster;
    this.#membership = membership;
    this.#introductions = introductions;
    this.#chunker = chunker;
    this.#children = children;
    this.#limits = new JoinLimits(config);
    context.timers.register('join-timeout', (now) => this.#timeOut(now));
  }

  /** Joins in progress (accepted over TCP, no hello yet, or no request yet). */
  joining(): number {
    let acceptedStillConnected = 0;
    for (const join of this.#joins.values()) {
      if (join.memberId !== NO_MEMBER) acceptedStillConnected++;
    }
    return this.#joinsByMemberId.size + this.#joins.size - acceptedStillConnected;
  }

  open(connection: ConnectionId, remote: Endpoint, now: Instant): void {
    if (this.#joins.has(connection)) return;
    const address = unmapIpv4(remote.address);
    let inProgress = 0;
    for (const join of this.#joins.values()) {
      if (unmapIpv4(join.remote.address) === address) inProgress++;
    }
    const tooMany = this.#limits.connection(address, inProgress);
    if (tooMany !== null) {
      this.#context.stats.connectionsRejected++;
      this.#context.emit({
        name: 'connection-reject',
        level: 'warn',
        fields: { remote: formatEndpoint(remote), reason: tooMany },
      });
      this.#context.push({ type: 'close', connection, reason: tooMany });
      return;
    }
    this.#joins.set(connection, {
      connection,
      remote,
      decoder: new FrameDecoder({ maxFrameBytes: this.#config.maxFrameBytes }),
      deadline: now + this.#config.joinTimeoutMillis,
      memberId: NO_MEMBER,
      request: null,
      listed: new Set(),
      open: true,
    });
    this.#armTimer();
  }

  data(connection: ConnectionId, bytes: Uint8Array, now: Instant): void {
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
      if (this.#chunker.header() === null) {
        this.#waitingForHeader.push(join);
        return;
      }
      this.#admit(join, result.message, now);
      return;
    }
  }

  closed(connection: ConnectionId): void {
    const join = this.#joins.get(connection);
    if (join === undefined) return;
    join.open = false;
    // A joiner that was accepted may close its connection and still send its hello.
    if (join.memberId === NO_MEMBER) this.#forget(join, 'closed by the joiner');
  }

  /** The stream header is complete: joins that waited for it are answered now. */
  answerWaiting(now: Instant): void {
    for (const join of this.#waitingForHeader.splice(0)) {
      if (join.open && join.request !== null) this.#admit(join, join.request, now);
    }
  }

  /**
   * The hello of an accepted joiner: it must carry the member id of its accept and come
   * from the host that joined over TCP (the same public IP through a NAT), so a third party
   * cannot claim an id it overheard. Returns the members its accept listed, or undefined
   * when the hello is dropped. A valid hello ends the join: its connection is closed.
   */
  takeHello(from: Endpoint, memberId: MemberId): ReadonlySet<MemberId> | undefined {
    const join = this.#joinsByMemberId.get(memberId);
    if (join === undefined) {
      const reason = this.#membership.isActive(memberId) ? 'member-mismatch' : 'non-member';
      this.#context.drop(reason, from, 'hello');
      return undefined;
    }
    // A dual-stack TCP socket sees `::ffff:10.0.0.5` where the UDP socket sees `10.0.0.5`.
    if (unmapIpv4(from.address) !== unmapIpv4(join.remote.address)) {
      this.#context.drop('member-mismatch', from, 'hello');
      return undefined;
    }
    this.#joinsByMemberId.delete(memberId);
    this.#joins.delete(join.connection);
    this.#armTimer();
    if (join.open) {
      join.open = false;
      this.#context.push({ type: 'close', connection: join.connection, reason: 'joined' });
    }
    return join.listed;
  }

  /** The source stopped: every join in progress is closed. */
  closeAll(reason: string): void {
    for (const join of [...this.#joins.values(), ...this.#joinsByMemberId.values()]) {
      this.#forget(join, reason);
    }
  }

  #timeOut(now: Instant): void {
    for (const join of [...this.#joins.values(), ...this.#joinsByMemberId.values()]) {
      if (
        now >= join.deadline &&
        (this.#joins.has(join.connection) || this.#joinsByMemberId.has(join.memberId))
      ) {
        this.#context.stats.joinsTimedOut++;
        this.#context.emit({
          name: 'join-timeout',
          level: 'warn',
          fields: {
            code: 'P2PSP_ERR_JOIN_TIMEOUT',
            remote: formatEndpoint(join.remote),
            waitedFor: join.memberId === NO_MEMBER ? 'join-request' : 'hello',
            timeoutMillis: this.#config.joinTimeoutMillis,
          },
        });
        if (join.memberId !== NO_MEMBER) this.#cluster.leave(join.memberId, 'timeout', now);
        this.#forget(join, 'join timeout');
      }
    }
    this.#armTimer();
  }

  #rejectConnection(join: Join, reason: string): void {
    this.#context.stats.connectionsRejected++;
    this.#context.emit({
      name: 'connection-reject',
      level: 'warn',
      fields: { remote: formatEndpoint(join.remote), reason },
    });
    this.#forget(join, `protocol error: ${reason}`);
  }

  /**
   * Admission (@p2psp/cluster): the joiner enters the table now, at its TCP endpoint, and
   * is fed only once its hello gives its UDP endpoint.
   */
  #admit(join: Join, request: JoinRequest, now: Instant): void {
    // Sybils and floods first (join-limits.ts): a member is counted at its TCP address until
    // its hello, then at its UDP one (the same host, maybe written IPv4-mapped).
    const address = unmapIpv4(join.remote.address);
    const members = new Set([
      ...this.#cluster.members.byAddress(address),
      ...this.#cluster.members.byAddress(`::ffff:${address}`),
    ]).size;
    const limited = this.#limits.request(address, members, now);
    if (limited !== null) {
      this.#refuse(join, 'not-accepting', limited);
      return;
    }
    // Trees of clusters: a full cluster sends ordinary joiners to a child source.
    const redirect = this.#children.redirect(request.role, now);
    if (redirect !== null) {
      this.#refuse(
        join,
        'redirect',
        `the cluster is full; join ${formatEndpoint(redirect)}`,
        redirect,
      );
      return;
    }
    const outcome = this.#cluster.join(
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
    if (outcome.replaced !== null) this.#membership.announceRemoval(outcome.replaced);
    if (outcome.kind === 'refused') {
      this.#refuse(join, outcome.reason, outcome.message);
      return;
    }
    // Not fed before its hello (`feedOnJoin: false`): its UDP endpoint is unknown until then.
    const member = outcome.member;
    join.memberId = member.memberId;
    join.deadline = now + this.#config.joinTimeoutMillis;
    this.#joinsByMemberId.set(member.memberId, join);
    this.#armTimer();
    const active = this.#membership.activeMembers();
    join.listed = new Set(active.map((other) => other.memberId));
    // Members it cannot reach even with hole punching are not listed (counted).
    const listed = this.#introductions.reachable(member, active);
    const monitors = listed.filter((other) => other.role === 'monitor').length;
    const accepted = this.#write(join.connection, {
      type: 'join-accept',
      memberId: member.memberId,
      observedEndpoint: join.remote,
      chunkSize: this.#config.chunkSize,
      bufferSize: this.#config.bufferSize,
      monitorCount: monitors + (member.role === 'monitor' ? 1 : 0),
      chunkIntervalMicros: Math.max(1, Math.round(this.#chunker.chunkIntervalMillis() * 1000)),
      nextChunkNumber: this.#chunker.nextChunkNumber(),
      mediaType: this.#config.mediaType,
      header: this.#chunker.header() ?? new Uint8Array(0),
      // The joiner's own entry comes first: its flags tell it its role (monitor, external),
      // which the accept has no other field for. Peers skip their own id as a neighbour.
      members: [{ ...toMemberInfo(member), endpoint: join.remote }, ...listed.map(toMemberInfo)],
      sourceKey: this.#config.signer?.publicKey ?? NO_KEY,
    });
    if (!accepted) {
      this.#joinsByMemberId.delete(member.memberId);
      this.#cluster.leave(member.memberId, 'leaving', now);
      join.memberId = NO_MEMBER;
      this.#refuse(join, 'not-accepting', 'the source cannot encode its join accept (see its log)');
      return;
    }
    this.#context.stats.joinsAccepted++;
    this.#context.emit({
      name: 'join-accept',
      level: 'info',
      fields: {
        memberId: member.memberId,
        remote: formatEndpoint(join.remote),
        role: member.role,
        reason: outcome.reason,
      },
    });
  }

  #refuse(
    join: Join,
    reason: RefusedReason,
    message: string,
    redirect: Endpoint | null = null,
  ): void {
    this.#context.stats.joinsRefused++;
    this.#write(join.connection, { type: 'join-refused', reason, redirect, message });
    this.#context.emit({
      name: 'join-refuse',
      level: 'warn',
      fields: { remote: formatEndpoint(join.remote), reason, message },
    });
    this.#forget(join, `join refused: ${reason}`);
  }

  /** Drops a join in progress and closes its connection (the driver flushes writes first). */
  #forget(join: Join, reason: string): void {
    this.#joins.delete(join.connection);
    if (join.memberId !== NO_MEMBER) this.#joinsByMemberId.delete(join.memberId);
    const waiting = this.#waitingForHeader.indexOf(join);
    if (waiting >= 0) this.#waitingForHeader.splice(waiting, 1);
    this.#armTimer();
    if (join.open) {
      join.open = false;
      this.#context.push({ type: 'close', connection: join.connection, reason });
    }
  }

  /** `join-timeout` fires at the earliest deadline of the joins in progress. */
  #armTimer(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const join of this.#joins.values()) earliest = Math.min(earliest, join.deadline);
    for (const join of this.#joinsByMemberId.values()) earliest = Math.min(earliest, join.deadline);
    if (Number.isFinite(earliest)) this.#context.timers.set('join-timeout', earliest);
    else this.#context.timers.stop('join-timeout');
  }

  #nextPlaceholderPort(): number {
    this.#placeholderPort = (this.#placeholderPort + 1) % 0x7fff_0000;
    return 0x1_0000 + this.#placeholderPort;
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
      this.#context.emit({
        name: 'frame-encode-fail',
        level: 'error',
        fields: {
          type: message.type,
          code: (error as { code?: string }).code ?? null,
          message: String((error as Error).message ?? error),
        },
      });
      return false;
    }
    this.#context.stats.connectionBytesWritten += bytes.length;
    this.#context.push({ type: 'write', connection, bytes });
    return true;
  }
}
