import type { Member, SourceCluster } from '@p2psp/cluster';
import type { ChunkRequest, Endpoint, Instant, MemberId, MemberSilent } from '@p2psp/wire';
import type { Chunker } from './chunker.js';
import type { Membership } from './membership.js';
import type { ResolvedSourceConfig } from './source-config.js';
import type { SourceContext } from './source-context.js';

const PLAIN_CHUNK = { nonExclusive: false, recovered: false } as const;
const RECOVERED_CHUNK = { nonExclusive: false, recovered: true } as const;
/**
 * Answers to an origin's chunk-requests per chunk: the first request, and one more in case
 * the answer was lost. A member can take back at most twice its own share of the stream.
 */
const ANSWERS_PER_CHUNK = 2;

/**
 * Who gets what from the source, and who stays:
 * - rule 1: chunk n goes to the next member of the round robin (or ACS's weighted round
 *   robin), and its destination is remembered for B chunks;
 * - keepalives: a member sent nothing for `keepaliveMillis` gets a hello-ack (timer
 *   `keepalive`), so peers tell a stalled ingest from a dead source;
 * - rule 8 and LRS: complaints from monitors are charged to the chunk's destination; past
 *   the threshold (stream time, in chunks at the current interval) the member is expelled
 *   and everybody is told; a chunk every monitor lost is resent through a monitor;
 * - rule 6: members silent past the liveness timeout are removed (timer `member-liveness`);
 *   sooner when members report them silent and the source does not hear them either
 *   (`member-silent`: skipped, its recent chunks resent through a monitor as LRS does,
 *   then removed; see `SourceCluster.memberSilent`).
 *
 * The policies are @p2psp/cluster's `SourceCluster`; this turns their outcomes into
 * datagrams and events.
 */
export class Scheduling {
  readonly #context: SourceContext;
  readonly #config: ResolvedSourceConfig;
  readonly #cluster: SourceCluster;
  readonly #membership: Membership;
  readonly #chunker: Chunker;
  /** Members sent something since the last keepalive round. */
  readonly #sentSinceKeepalive = new Set<MemberId>();
  /** Answers given per chunk (by chunk number mod B; the number checks the slot). */
  readonly #answeredNumbers: Float64Array;
  readonly #answeredCounts: Uint8Array;

  constructor(
    context: SourceContext,
    config: ResolvedSourceConfig,
    cluster: SourceCluster,
    membership: Membership,
    chunker: Chunker,
  ) {
    this.#context = context;
    this.#config = config;
    this.#cluster = cluster;
    this.#membership = membership;
    this.#chunker = chunker;
    this.#answeredNumbers = new Float64Array(config.bufferSize).fill(-1);
    this.#answeredCounts = new Uint8Array(config.bufferSize);
    context.timers.register('member-liveness', (now) => this.#expireSilent(now));
    context.timers.register('keepalive', (now) => this.#keepalive(now));
  }

  /**
   * Rule 1: sends a chunk just cut (with its `trailer`, the signed digest it carries) to the
   * next member, or drops it when nobody is fed.
   */
  feed(chunkNumber: number, payload: Uint8Array, trailer: Uint8Array): void {
    const stats = this.#context.stats;
    const member = this.#cluster.nextDestination(chunkNumber);
    if (member === undefined) {
      stats.chunksDropped++;
      if (stats.chunksDropped === 1) {
        this.#context.emit({
          name: 'chunk-drop',
          level: 'info',
          fields: {
            chunkNumber,
            reason: 'no member to feed: the stream is live, chunks are not queued',
          },
        });
      }
      return;
    }
    stats.chunksSent++;
    stats.chunkBytesSent += payload.length;
    this.#sentSinceKeepalive.add(member.memberId);
    this.#context.sendMessage(member.endpoint, {
      type: 'chunk',
      chunkNumber,
      origin: member.memberId,
      flags: PLAIN_CHUNK,
      payload,
      signature: trailer,
    });
  }

  /** A member was activated (its hello-ack just went out): keepalives start with it. */
  activated(memberId: MemberId, now: Instant): void {
    this.#sentSinceKeepalive.add(memberId);
    const timers = this.#context.timers;
    if (timers.deadline('keepalive') === null && this.#config.keepaliveMillis > 0) {
      timers.set('keepalive', now + this.#config.keepaliveMillis);
    }
  }

  /** Rule 8 and LRS: a [lost chunk] from `member`, turned into datagrams and events. */
  complaint(member: Member, from: Endpoint, chunkNumber: number, now: Instant): void {
    const interval = this.#chunker.chunkIntervalMillis();
    const outcome = this.#cluster.lostChunk(from, chunkNumber, now, interval);
    this.#context.stats.complaintsReceived++;
    const complaint = outcome.complaint;
    this.#context.emit({
      name: 'complaint-receive',
      level: 'debug',
      fields: {
        from: member.memberId,
        chunkNumber: complaint.chunkNumber,
        outcome: complaint.kind,
        charged: complaint.kind === 'charged' ? complaint.memberId : null,
        count: complaint.kind === 'charged' ? complaint.count : null,
        ignored: complaint.kind === 'ignored' ? complaint.reason : null,
      },
    });
    const recovery = outcome.recovery;
    if (recovery?.kind === 'resend') this.#resend(recovery.chunkNumber, recovery.via);
    for (const removal of outcome.expulsions) {
      this.#context.stats.membersExpelled++;
      this.#membership.announceRemoval(removal);
    }
  }

  /** A member stopped hearing `message.silentMemberId`: the cluster's verdict, carried out. */
  memberSilent(member: Member, message: MemberSilent, from: Endpoint, now: Instant): void {
    if (message.memberId !== member.memberId) {
      this.#context.drop('member-mismatch', from, 'member-silent');
      return;
    }
    const stats = this.#context.stats;
    stats.silenceReportsReceived++;
    const accused = this.#cluster.members.get(message.silentMemberId);
    const outcome = this.#cluster.memberSilent(member.memberId, message.silentMemberId, now);
    if (outcome.kind === 'skipped' && accused !== undefined) {
      stats.membersSkipped++;
      for (const resend of outcome.resend) this.#resend(resend.chunkNumber, resend.via);
      this.#context.emit({
        name: 'member-skip',
        level: 'info',
        fields: {
          memberId: message.silentMemberId,
          reporters: outcome.reporters,
          silentMillis: now - accused.lastHeardAt,
        },
      });
    } else if (outcome.kind === 'removed') {
      stats.membersRemovedOnReports++;
      this.#membership.announceRemoval(outcome.removal);
    }
  }

  /**
   * Rule 6: the liveness deadline moves whenever a member is heard, joins or leaves, so the
   * core calls this after every input to keep `member-liveness` at the table's deadline.
   */
  followLiveness(): void {
    const deadline = this.#cluster.nextDeadline();
    if (deadline === undefined) this.#context.timers.stop('member-liveness');
    else this.#context.timers.set('member-liveness', deadline);
  }

  /**
   * A member's chunk-request: it was the chunk's destination (rule 1) and our hop to it lost
   * the chunk, so none of its neighbours has it (the peer's repair asks us only then). The
   * chunk goes back to it flagged recovered, as an LRS resend (and counted with them), and
   * it relays it to everybody at once. Only a chunk sent to that member, still held, at
   * most ANSWERS_PER_CHUNK times: anything else is dropped, so a member cannot pull the
   * stream from the source.
   */
  chunkRequest(member: Member, request: ChunkRequest, from: Endpoint): void {
    const chunkNumber = request.chunkNumber;
    const payload = this.#chunker.recent(chunkNumber);
    const slot = chunkNumber % this.#answeredCounts.length;
    if (this.#answeredNumbers[slot] !== chunkNumber) {
      this.#answeredNumbers[slot] = chunkNumber;
      this.#answeredCounts[slot] = 0;
    }
    if (
      request.memberId !== member.memberId ||
      payload === undefined ||
      this.#cluster.destinations.destinationOf(chunkNumber) !== member.memberId ||
      this.#answeredCounts[slot]! >= ANSWERS_PER_CHUNK
    ) {
      this.#context.drop('unexpected', from, 'chunk-request');
      return;
    }
    this.#answeredCounts[slot]! += 1;
    this.#resend(chunkNumber, member.memberId);
  }

  /** LRS: resends a chunk every monitor lost through the monitor `via`, flagged recovered. */
  #resend(chunkNumber: number, via: MemberId): void {
    const payload = this.#chunker.recent(chunkNumber);
    const monitor = this.#cluster.members.get(via);
    if (payload === undefined || monitor === undefined) return;
    this.#context.stats.chunksRecovered++;
    this.#context.sendMessage(monitor.endpoint, {
      type: 'chunk',
      chunkNumber,
      origin: via,
      flags: RECOVERED_CHUNK,
      payload,
      // The digest that covers it: peers that lost the digest can check the resend too.
      signature: this.#chunker.trailerFor(chunkNumber),
    });
  }

  /** Rule 6: members silent past the liveness timeout (when configured) are dropped. */
  #expireSilent(now: Instant): void {
    for (const removal of this.#cluster.expireSilent(now)) {
      this.#membership.announceRemoval(removal);
    }
  }

  /** A hello-ack to every member sent nothing during the last period (a sign of life). */
  #keepalive(now: Instant): void {
    for (const member of this.#membership.activeMembers()) {
      if (this.#sentSinceKeepalive.has(member.memberId)) continue;
      this.#context.sendMessage(member.endpoint, {
        type: 'hello-ack',
        memberId: member.memberId,
        nonce: 0,
      });
    }
    this.#sentSinceKeepalive.clear();
    if (this.#membership.size > 0) {
      this.#context.timers.set('keepalive', now + this.#config.keepaliveMillis);
    }
  }
}
