import { type Member, SourceCluster } from '@p2psp/cluster';
import { isStunDatagram } from '@p2psp/nat';
import {
  type CoreInput,
  type CoreOutput,
  type DatagramMessage,
  decodeDatagram,
  type Endpoint,
  type Instant,
  type SansIoCore,
  type StreamInfo,
} from '@p2psp/wire';
import { Children, type ChildView } from './children.js';
import { Chunker } from './chunker.js';
import { Credentials } from './credentials.js';
import { Externals } from './externals.js';
import { Introductions } from './introductions.js';
import { Joins } from './joins.js';
import { Membership } from './membership.js';
import { Scheduling } from './scheduling.js';
import {
  type ResolvedSourceConfig,
  resolveSourceConfig,
  type SourceConfig,
} from './source-config.js';
import { SourceContext } from './source-context.js';
import type { SourceEvent } from './source-events.js';
import type { SourceMemberView, SourceStats } from './source-types.js';
import { StreamMetadata } from './stream-metadata.js';

type SourceState = 'running' | 'stopped';

/**
 * The P2PSP source as a sans-IO core: a dispatcher over one component per set of rules.
 *
 * - `Joins` (rule 4 up to the hello): TCP join requests, admission, accept or refusal, join
 *   timeouts.
 * - `Membership` (rules 4 and 6): the hello that completes a join, the members' own
 *   datagrams, departures and their announcement.
 * - `Chunker` (rule 1): ingest, stream header, chunks, the ring of the last B payloads.
 * - `Scheduling` (rules 1, 6, 8, LRS): who gets each chunk, keepalives, complaints,
 *   expulsions, resends, silent members.
 * - `Introductions` (NTS): STUN on the cluster port, punchable pairs, introductions.
 * - `Externals` (seed 000): onboarding of external peers, notices to members, peer lists.
 *
 * The core decodes each input once and hands it to the component whose rule it is; the
 * components share a `SourceContext` (outputs, timers, counters). Live: with no member to
 * feed, chunks are dropped (counted), never queued.
 */
export class SourceCore implements SansIoCore<SourceEvent> {
  readonly config: ResolvedSourceConfig;
  /** Membership, round robin, complaints, LRS: the state behind `members()`. */
  readonly cluster: SourceCluster;

  readonly #context = new SourceContext();
  readonly #chunker: Chunker;
  readonly #introductions: Introductions;
  readonly #membership: Membership;
  readonly #joins: Joins;
  readonly #scheduling: Scheduling;
  readonly #externals: Externals;
  readonly #metadata: StreamMetadata;
  readonly #children: Children;
  #state: SourceState = 'running';

  constructor(config: SourceConfig) {
    this.config = resolveSourceConfig(config);
    this.cluster = new SourceCluster(this.config.cluster);
    const context = this.#context;
    const cluster = this.cluster;
    // Wiring: one line per component. Timers fire in the order they are registered here.
    this.#chunker = new Chunker(context, this.config, {
      chunk: (chunkNumber, payload, trailer) => {
        this.#scheduling.feed(chunkNumber, payload, trailer);
        this.#externals.chunkCut(chunkNumber, payload, trailer);
      },
      headerComplete: (now) => this.#joins.answerWaiting(now),
    });
    const credentials = new Credentials(context, this.config, this.#chunker);
    this.#introductions = new Introductions(context, credentials);
    this.#membership = new Membership(context, cluster, this.#introductions, credentials);
    this.#children = new Children(context, this.config, cluster);
    this.#joins = new Joins(
      context,
      this.config,
      cluster,
      this.#membership,
      this.#introductions,
      this.#chunker,
      this.#children,
    );
    this.#scheduling = new Scheduling(
      context,
      this.config,
      cluster,
      this.#membership,
      this.#chunker,
    );
    this.#externals = new Externals(context, this.#membership);
    this.#metadata = new StreamMetadata(context, cluster, this.#membership, this.#chunker);
  }

  // -------------------------------------------------------------------------------------
  // SansIoCore

  handle(input: CoreInput, now: Instant): void {
    this.#route(input, now);
    if (this.#state === 'running') this.#scheduling.followLiveness();
  }

  handleTimeout(now: Instant): void {
    this.#context.timers.fire(now);
    if (this.#state === 'running') this.#scheduling.followLiveness();
  }

  pollTimeout(): Instant | undefined {
    return this.#context.nextTimeout();
  }

  pollOutput(): CoreOutput<SourceEvent> | undefined {
    return this.#context.poll();
  }

  // -------------------------------------------------------------------------------------
  // Views

  /** The members that completed their join, in join order (the dashboard's view). */
  members(): readonly SourceMemberView[] {
    return this.#membership.activeMembers().map((member) => ({
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
  destinationOf(chunkNumber: number): number | undefined {
    return this.cluster.destinations.destinationOf(chunkNumber);
  }

  /** Child sources a full cluster redirects joiners to (trees of clusters). */
  children(): readonly ChildView[] {
    return this.#children.views();
  }

  /** The stream header, or null while it is still being captured from the ingest. */
  header(): Uint8Array | null {
    return this.#chunker.header();
  }

  /** The stream's current title (ICY `StreamTitle`), empty when none. */
  title(): string {
    return this.#metadata.title;
  }

  /** The station's info as the ingest announced it. */
  streamInfo(): StreamInfo {
    return this.#metadata.info;
  }

  /** The current chunk interval estimate, from the ingest rate. */
  chunkIntervalMillis(): number {
    return this.#chunker.chunkIntervalMillis();
  }

  stats(): SourceStats {
    const active = this.#membership.activeMembers();
    return {
      ...this.#context.stats,
      headerBytes: this.#chunker.header()?.length ?? 0,
      datagramsDropped: { ...this.#context.drops },
      members: active.length,
      monitors: active.filter((member) => member.role === 'monitor').length,
      fedMembers: this.cluster.scheduler.size,
      joining: this.#joins.joining(),
      chunkIntervalMillis: this.#chunker.chunkIntervalMillis(),
      nextChunkNumber: this.#chunker.nextChunkNumber(),
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
        if (this.#state === 'stopped') {
          this.#context.push({
            type: 'close',
            connection: input.connection,
            reason: 'source stopped',
          });
          return;
        }
        this.#joins.open(input.connection, input.remote, now);
        return;
      case 'connection-data':
        this.#joins.data(input.connection, input.bytes, now);
        return;
      case 'connection-closed':
        this.#joins.closed(input.connection);
        return;
      case 'ingest-data':
        if (this.#state === 'running') this.#chunker.ingest(input.bytes, input.role, now);
        return;
      case 'ingest-restart':
        if (this.#state === 'running') this.#chunker.restart(input.reason);
        return;
      case 'ingest-metadata':
        if (this.#state === 'running') this.#metadata.update(input.title, input.info, now);
        return;
      case 'ingest-end':
        this.#finish('stream-end', `ingest ended: ${input.reason}`);
        return;
      case 'stop':
        this.#finish('leaving', 'stop');
        return;
    }
  }

  #onDatagram(from: Endpoint, bytes: Uint8Array, now: Instant): void {
    if (this.#state === 'stopped') {
      this.#context.drop('stopped', from);
      return;
    }
    // The source is its cluster's STUN server (plain RFC 8489 Binding), on the cluster port
    // itself. RFC 8489 section 5 / RFC 7983 demultiplexing: the two top bits zero and the
    // magic cookie; a P2PSP datagram never carries the cookie there.
    if (isStunDatagram(bytes)) {
      this.#introductions.answerStun(from, bytes);
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) {
      this.#context.drop('malformed', from, decoded.error.code);
      return;
    }
    const message = decoded.message;
    const known = this.cluster.members.byEndpoint(from);
    const member =
      known !== undefined && this.#membership.isActive(known.memberId) ? known : undefined;
    if (message.type === 'hello') {
      if (member !== undefined) {
        this.#membership.hello(member, from, message.memberId, message.nonce, now);
        return;
      }
      const listed = this.#joins.takeHello(from, message.memberId);
      if (listed === undefined) return;
      const joined = this.#membership.activate(message.memberId, from, message.nonce, listed, now);
      if (joined === undefined) return;
      this.#scheduling.activated(joined.memberId, now);
      this.#externals.activated(joined, from);
      this.#metadata.activated(joined, now);
      return;
    }
    if (message.type === 'child-report') {
      this.#children.report(from, message, now);
      return;
    }
    if (member === undefined) {
      // A goodbye's extra copies arrive after the member is gone: nothing to count.
      if (message.type !== 'goodbye') this.#context.drop('non-member', from, message.type);
      if (message.type === 'stats-report' && known === undefined) {
        this.#membership.strangerReport(from, message.memberId);
      }
      return;
    }
    this.cluster.heard(from, now);
    this.#onMemberMessage(member, message, from, now);
  }

  #onMemberMessage(member: Member, message: DatagramMessage, from: Endpoint, now: Instant): void {
    switch (message.type) {
      case 'goodbye':
        this.#membership.goodbye(member, message, from, now);
        return;
      case 'lost-chunk':
        this.#scheduling.complaint(member, from, message.chunkNumber, now);
        return;
      case 'chunk-request':
        this.#scheduling.chunkRequest(member, message, from);
        return;
      case 'peer-list-request':
        this.#externals.listRequest(member, from, now);
        return;
      case 'member-silent':
        this.#scheduling.memberSilent(member, message, from, now);
        return;
      case 'stats-report':
        this.#membership.statsReport(member, message);
        return;
      default:
        this.#context.drop('unexpected', from, message.type);
    }
  }

  /** Rule 6: the stream ended, or the operator stopped the source. */
  #finish(reason: 'stream-end' | 'leaving', detail: string): void {
    if (this.#state === 'stopped') return;
    // The partial last chunk is part of the stream: send it before saying goodbye.
    if (reason === 'stream-end') this.#chunker.flush();
    this.#state = 'stopped';
    this.#membership.sayGoodbye(reason);
    this.#joins.closeAll('source stopped');
    this.#context.timers.stopAll();
    this.#context.emit({
      name: 'source-stop',
      level: 'info',
      fields: { reason: detail, members: this.#membership.size },
    });
    this.#context.push({
      type: 'stopped',
      reason: reason === 'stream-end' ? 'stream-end' : 'stop',
    });
  }
}
