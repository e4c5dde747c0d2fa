import type { Endpoint, Instant, MemberId, RefusedReason } from '@p2psp/wire';
import {
  type AdmissionPolicy,
  type AdmissionReason,
  type AdmissionRequest,
  admit,
} from './admission.js';
import { ChunkDestinations } from './chunk-destinations.js';
import { ChunkScheduler, type ChunkSchedulerOptions } from './chunk-scheduler.js';
import {
  ComplaintLedger,
  type ComplaintLedgerOptions,
  type ComplaintOutcome,
  type LedgerPosition,
} from './complaint-ledger.js';
import { checkInteger, checkNumber } from './errors.js';
import { chooseExpulsions } from './expulsion.js';
import { nextLivenessDeadline, silentMembers } from './liveness.js';
import { LostChunkRecovery, type RecoveryOutcome } from './lost-chunk-recovery.js';
import {
  isFedBySource,
  type Member,
  type MemberRemoval,
  MembershipTable,
  type MembershipTableOptions,
  type RemovalReason,
} from './membership.js';
import { toChunkNumber } from './serial.js';
import { type SilenceReportOptions, SilenceReports } from './silence-reports.js';

export interface SourceClusterOptions {
  /** Buffer size B: how many chunk destinations (and LRS reports) are remembered. */
  readonly bufferSize: number;
  readonly complaints?: ComplaintLedgerOptions;
  readonly scheduling?: ChunkSchedulerOptions;
  readonly admission?: Partial<AdmissionPolicy>;
  /**
   * LRS on or off. Default on: it costs nothing while monitors lose nothing (a resend only
   * follows a chunk every monitor reported lost), and the target (50 peers, 1% loss,
   * every CLR < 1%) needs it. False: P2PSP's plain DBS.
   */
  readonly lostChunkRecovery?: boolean;
  /** Silence after which a member is dropped (see `livenessTimeout`); undefined: never. */
  readonly livenessTimeoutMillis?: number;
  readonly members?: MembershipTableOptions;
  /** Members' `member-silent` reports: quorum and the source's own silence (defaults there). */
  readonly silenceReports?: SilenceReportOptions;
  /**
   * Feed a member as soon as it is admitted (default). False: feed it only once `activate`
   * is called, e.g. when its UDP hello arrives (rule 4: "then the source appends it").
   */
  readonly feedOnJoin?: boolean;
}

export interface SourceJoinRequest extends AdmissionRequest {
  readonly privateEndpoint: Endpoint | null;
}

export type SourceJoinOutcome =
  | {
      readonly kind: 'admitted';
      readonly member: Member;
      readonly reason: AdmissionReason;
      /** A member at the same endpoint that was removed first (it restarted without goodbye). */
      readonly replaced: MemberRemoval | null;
    }
  | {
      readonly kind: 'refused';
      readonly reason: RefusedReason;
      readonly message: string;
      readonly replaced: MemberRemoval | null;
    };

/** What `activate` did. */
export interface ActivateOutcome {
  readonly member: Member;
  /** Another member listed at that endpoint, removed as stale (`leaving`). */
  readonly replaced: MemberRemoval | null;
}

/** Everything one [lost chunk x] caused. */
export interface LostChunkOutcome {
  readonly complaint: ComplaintOutcome;
  /** LRS decision, or null when LRS is off or the complainer is not a monitor. */
  readonly recovery: RecoveryOutcome | null;
  /** Members expelled because of it (removed already): tell each, then the cluster. */
  readonly expulsions: readonly MemberRemoval[];
}

/** An LRS resend: `chunkNumber` through the monitor `via`. */
export interface RecoveryResend {
  readonly chunkNumber: number;
  readonly via: MemberId;
}

/** What one `member-silent` report did. */
export type MemberSilentOutcome =
  | { readonly kind: 'ignored'; readonly reason: 'unknown' | 'self' | 'not-fed' }
  | { readonly kind: 'noted'; readonly reporters: number }
  /**
   * No longer fed until the source hears from it (counted once, when it starts). `resend`:
   * the chunks of the last B/2 it was given, which it may not have relayed to everybody
   * before it fell silent, to resend through a monitor as LRS does (none without LRS).
   */
  | {
      readonly kind: 'skipped';
      readonly reporters: number;
      readonly resend: readonly RecoveryResend[];
    }
  /** Removed already (reason `timeout`): tell it, then the cluster. */
  | { readonly kind: 'removed'; readonly reporters: number; readonly removal: MemberRemoval };

/**
 * The source's side of the cluster in one object: the building blocks of this package
 * wired together the way rules 1, 6 and 8, LRS and ACS say. A source core calls it on each
 * join, chunk, [lost chunk], goodbye and timer, and turns the outcomes into datagrams and
 * events. Pure state like the blocks it holds; they stay reachable for anything it does
 * not cover (the external-peer onboarding chunk, dashboards).
 */
export class SourceCluster {
  readonly members: MembershipTable;
  readonly destinations: ChunkDestinations;
  readonly ledger: ComplaintLedger;
  readonly scheduler: ChunkScheduler;
  readonly recovery: LostChunkRecovery | null;
  readonly silenceReports: SilenceReports;
  readonly admission: Partial<AdmissionPolicy>;
  readonly livenessTimeoutMillis: number | undefined;
  readonly feedOnJoin: boolean;
  readonly #bufferSize: number;
  #latestChunkNumber: number | undefined;
  /** Fed members the source stopped feeding on silence reports, until it hears from them. */
  readonly #skipped = new Set<MemberId>();

  constructor(options: SourceClusterOptions) {
    const bufferSize = checkInteger('bufferSize', options.bufferSize, 1, 1 << 24);
    this.members = new MembershipTable(options.members);
    this.#bufferSize = bufferSize;
    this.destinations = new ChunkDestinations(bufferSize);
    this.ledger = new ComplaintLedger(options.complaints);
    this.scheduler = new ChunkScheduler(options.scheduling);
    this.recovery = (options.lostChunkRecovery ?? true) ? new LostChunkRecovery(bufferSize) : null;
    this.silenceReports = new SilenceReports(options.silenceReports);
    this.admission = options.admission ?? {};
    this.livenessTimeoutMillis =
      options.livenessTimeoutMillis === undefined
        ? undefined
        : checkNumber('livenessTimeoutMillis', options.livenessTimeoutMillis, 0, 2 ** 31);
    this.feedOnJoin = options.feedOnJoin ?? true;
  }

  /**
   * Admits (table, and round robin unless `feedOnJoin` is false) or refuses a joiner, by the
   * admission policy. A member still listed at the joiner's endpoint is removed first.
   */
  join(request: SourceJoinRequest, now: Instant): SourceJoinOutcome {
    const existing = this.members.byEndpoint(request.endpoint);
    // The same endpoint joins again (it restarted without goodbye): the old entry is stale.
    const replaced =
      existing === undefined ? null : (this.leave(existing.memberId, 'leaving', now) ?? null);
    const decision = admit({ members: this.members, now }, request, this.admission);
    if (decision.kind === 'refuse') return { ...decision, kind: 'refused', replaced };
    const member = this.members.add({
      role: decision.role,
      endpoint: request.endpoint,
      privateEndpoint: request.privateEndpoint,
      nat: request.nat,
      now,
    });
    if (this.feedOnJoin && isFedBySource(member.role)) this.scheduler.add(member.memberId);
    return { kind: 'admitted', member, reason: decision.reason, replaced };
  }

  /**
   * The member's UDP hello arrived from `endpoint`: records that endpoint (through any NAT),
   * marks it heard, and feeds it from the end of the round if its role is fed by the source.
   * A different member listed at that endpoint is stale and removed. Undefined for an
   * unknown id. Never throws on network input.
   */
  activate(memberId: MemberId, endpoint: Endpoint, now: Instant): ActivateOutcome | undefined {
    if (!this.members.has(memberId)) return undefined;
    const owner = this.members.byEndpoint(endpoint);
    const replaced =
      owner !== undefined && owner.memberId !== memberId
        ? (this.leave(owner.memberId, 'leaving', now) ?? null)
        : null;
    this.members.setEndpoint(memberId, endpoint);
    this.members.heard(memberId, now);
    const member = this.members.get(memberId) as Member;
    if (isFedBySource(member.role)) this.scheduler.add(memberId);
    return { member, replaced };
  }

  /**
   * The member chunk `chunkNumber` goes to (rule 1, or ACS), remembered for complaints;
   * undefined when nobody is fed by the source.
   */
  nextDestination(chunkNumber: number): Member | undefined {
    const memberId = this.scheduler.next();
    if (memberId === undefined) return undefined;
    this.#latestChunkNumber = toChunkNumber(chunkNumber);
    this.destinations.record(chunkNumber, memberId);
    this.members.recordChunkSent(memberId);
    return this.members.get(memberId);
  }

  /** A datagram arrived from `from`: refreshes its sender's liveness. */
  heard(from: Endpoint, now: Instant): Member | undefined {
    const member = this.members.byEndpoint(from);
    if (member === undefined) return undefined;
    this.members.heard(member.memberId, now);
    this.silenceReports.clear(member.memberId);
    if (this.#skipped.delete(member.memberId)) {
      this.scheduler.add(member.memberId);
      this.silenceReports.resumed(member.memberId, now);
    }
    return member;
  }

  /**
   * A member reports that `silentMemberId` relayed nothing to it for a while. Skipped (not
   * fed) on a quorum of reporters once the source too has not heard from it for a moment,
   * removed once that silence is long (`SilenceReports`). Never throws on network input.
   */
  memberSilent(reporter: MemberId, silentMemberId: MemberId, now: Instant): MemberSilentOutcome {
    const accused = this.members.get(silentMemberId);
    if (accused === undefined) return { kind: 'ignored', reason: 'unknown' };
    if (silentMemberId === reporter) return { kind: 'ignored', reason: 'self' };
    // Externals and liberated members relay nothing: their silence says nothing.
    if (!isFedBySource(accused.role)) return { kind: 'ignored', reason: 'not-fed' };
    const others = this.scheduler.size + this.#skipped.size - 1;
    const verdict = this.silenceReports.report(
      reporter,
      silentMemberId,
      accused.lastHeardAt,
      others,
      now,
    );
    // Reports only hasten the member timeout: without one, nobody is removed for silence.
    if (verdict.kind === 'remove' && this.livenessTimeoutMillis !== undefined) {
      const removal = this.leave(silentMemberId, 'timeout', now);
      if (removal !== undefined) return { kind: 'removed', reporters: verdict.reporters, removal };
    }
    // Never the last fed member: a live stream is sent to somebody rather than to nobody.
    if (verdict.kind !== 'noted' && this.scheduler.has(silentMemberId) && this.scheduler.size > 1) {
      this.scheduler.remove(silentMemberId);
      this.#skipped.add(silentMemberId);
      return {
        kind: 'skipped',
        reporters: verdict.reporters,
        resend: this.#resendsOf(silentMemberId),
      };
    }
    return { kind: 'noted', reporters: verdict.reporters };
  }

  /**
   * A [lost chunk x] from `from` (rule 8, LRS, ACS), with the stream's current time between
   * chunks (thresholds and windows in stream time). Never throws on network input.
   */
  lostChunk(
    from: Endpoint,
    chunkNumber: number,
    now: Instant,
    chunkIntervalMillis: number,
  ): LostChunkOutcome {
    const position = this.position(now, chunkIntervalMillis);
    const complaint = this.ledger.complain(
      { from, chunkNumber },
      { members: this.members, destinations: this.destinations, position },
    );
    let recovery: RecoveryOutcome | null = null;
    if (this.recovery !== null && complaint.complainer !== null) {
      const complainer = this.members.get(complaint.complainer);
      if (complainer?.role === 'monitor') {
        recovery = this.recovery.report(complainer.memberId, chunkNumber, this.#activeMonitorIds());
      }
    }
    const expulsions: MemberRemoval[] = [];
    if (complaint.kind === 'charged') {
      this.scheduler.complaint(complaint.memberId);
      if (complaint.overThreshold) {
        for (const expulsion of chooseExpulsions(this.ledger, this.members, position)) {
          const removal = this.leave(expulsion.memberId, 'expelled', now);
          if (removal !== undefined) expulsions.push(removal);
        }
      }
    }
    return { complaint, recovery, expulsions };
  }

  /** Removes a member (goodbye, expulsion, timeout) from the table and the round robin. */
  leave(memberId: MemberId, reason: RemovalReason, now: Instant): MemberRemoval | undefined {
    this.scheduler.remove(memberId);
    this.#skipped.delete(memberId);
    this.silenceReports.forget(memberId);
    return this.members.remove(memberId, reason, now);
  }

  /** Drops members silent for the liveness timeout (rule 6); returns the removals. */
  expireSilent(now: Instant): readonly MemberRemoval[] {
    if (this.livenessTimeoutMillis === undefined) return [];
    return silentMembers(this.members, now, this.livenessTimeoutMillis).flatMap((member) => {
      const removal = this.leave(member.memberId, 'timeout', now);
      return removal === undefined ? [] : [removal];
    });
  }

  /** When `expireSilent` next has work: for the core's `pollTimeout`. */
  nextDeadline(): Instant | undefined {
    if (this.livenessTimeoutMillis === undefined) return undefined;
    return nextLivenessDeadline(this.members, this.livenessTimeoutMillis);
  }

  /**
   * The chunks of the last B/2 (a peer's play-out delay by default) given to `memberId`, each
   * through the monitor LRS would use for it; none without LRS or a fed monitor.
   */
  #resendsOf(memberId: MemberId): RecoveryResend[] {
    const monitors = this.#activeMonitorIds();
    const latest = this.#latestChunkNumber;
    if (this.recovery === null || monitors.length === 0 || latest === undefined) return [];
    const resends: RecoveryResend[] = [];
    const window = Math.max(1, Math.floor(this.#bufferSize / 2));
    for (let back = window - 1; back >= 0; back--) {
      const chunkNumber = toChunkNumber(latest - back);
      if (this.destinations.destinationOf(chunkNumber) !== memberId) continue;
      resends.push({ chunkNumber, via: monitors[chunkNumber % monitors.length]! });
    }
    return resends;
  }

  /**
   * Monitors that are fed (activated): a monitor still joining cannot report losses yet,
   * so LRS must not wait for it.
   */
  #activeMonitorIds(): readonly MemberId[] {
    return this.members.monitorIds().filter((memberId) => this.scheduler.has(memberId));
  }

  /** The ledger position: `now`, the newest chunk number handed out, the chunk interval. */
  position(now: Instant, chunkIntervalMillis: number): LedgerPosition {
    return { now, latestChunkNumber: this.#latestChunkNumber ?? 0, chunkIntervalMillis };
  }
}
