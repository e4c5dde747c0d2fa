import {
  chunkNumberDistance,
  type Endpoint,
  formatEndpoint,
  type Instant,
  type MemberId,
} from '@p2psp/wire';
import type { ChunkDestinations } from './chunk-destinations.js';
import { ClusterError, checkChoice, checkInteger } from './errors.js';
import { MEMBER_ROLES, type Member, type MemberRole, type MembershipTable } from './membership.js';
import { toChunkNumber } from './serial.js';

/**
 * How complaints are keyed (seed 000). `endpoint` (default) charges the member's UDP
 * endpoint. `ip` charges its public IP address: a free rider behind a symmetric NAT gets a
 * new public port each time it rejoins (and a different one towards every member), so its
 * complaints would be spread over many endpoints that each stay under the threshold; by IP
 * they add up. The cost: every node behind that IP shares one count and is expelled together.
 */
export type ComplaintKeying = 'endpoint' | 'ip';

/**
 * Which complaints count towards the threshold: those about the last `size` chunk numbers
 * (before the newest chunk the source sent), about the chunks of the last `milliseconds` of
 * stream (`stream-time`: chunk numbers at the position's chunk interval, see
 * `ComplaintLedger.chunksOf`), those charged in the last `milliseconds` of the clock
 * (`time`), or all of them (P2PSP's original counters). A window lets an honest peer's
 * occasional losses expire; it must hold enough chunks for a free rider to reach the
 * threshold: see `recommendedChunkWindow`.
 */
export type ComplaintWindow =
  | { readonly kind: 'chunk-numbers'; readonly size: number }
  | { readonly kind: 'stream-time'; readonly milliseconds: number }
  | { readonly kind: 'time'; readonly milliseconds: number }
  | { readonly kind: 'unbounded' };

/**
 * Where the source stands: the clock, the newest chunk number it has sent, and the stream's
 * time between chunks (its estimate from the ingest rate), which turns stream time into chunks.
 */
export interface LedgerPosition {
  readonly now: Instant;
  readonly latestChunkNumber: number;
  readonly chunkIntervalMillis: number;
}

/**
 * P2PSP's maximum chunk loss before expulsion (its code's MAX_CHUNK_LOSS): the fewest chunks
 * the threshold in stream time gives.
 */
export const DEFAULT_COMPLAINT_THRESHOLD = 32;

/**
 * Rule 8 in stream time: 2,048 ms is P2PSP's 32 chunks at 128 kbit/s with 1,024-byte chunks
 * (64 ms each). A fixed 32 is 131 ms at 2 Mbit/s, less than a monitor loses of a new member's
 * relays until it knows it, so honest joiners were expelled.
 */
export const DEFAULT_COMPLAINT_THRESHOLD_MILLIS = 2048;

/** 128 thresholds of stream (P2PSP's 4,096 chunk numbers at 128 kbit/s), at every bitrate. */
export const DEFAULT_COMPLAINT_WINDOW: ComplaintWindow = {
  kind: 'stream-time',
  milliseconds: 128 * DEFAULT_COMPLAINT_THRESHOLD_MILLIS,
};

export interface ComplaintLedgerOptions {
  readonly keying?: ComplaintKeying;
  readonly window?: ComplaintWindow;
  /**
   * A key with MORE complaints in the window than this much stream is expelled, in chunks at
   * the position's chunk interval (rounded up), never below DEFAULT_COMPLAINT_THRESHOLD.
   * Default 2,048 ms.
   */
  readonly thresholdMillis?: number;
  /** The threshold as an exact number of complaints, instead of `thresholdMillis`. */
  readonly threshold?: number;
  /**
   * Roles never charged nor expelled. Default monitor, external and liberated: monitors are
   * the operator's trusted nodes (a chunk sent to a monitor and lost is the source link's
   * fault, and LRS handles it), external and liberated peers are never complained about
   * (seed 000). Pass `['external', 'liberated']` to hold monitors accountable too.
   */
  readonly exemptRoles?: readonly MemberRole[];
}

export const DEFAULT_EXEMPT_ROLES: readonly MemberRole[] = ['monitor', 'external', 'liberated'];

/** Why a complaint was not charged. Each is counted in `ignored`. */
export type ComplaintIgnoredReason =
  /** The sender is not a member (rule 3 of the brief: foreign senders are dropped). */
  | 'unknown-complainer'
  /** Only monitors may complain (rule 8). */
  | 'not-monitor'
  /** Not among the last B chunks sent (too old, never sent, or a slot since reused). */
  | 'unknown-chunk'
  /** The chunk was already charged (another monitor, or a repeat). */
  | 'duplicate'
  /** The chunk's destination has left the table. */
  | 'member-gone'
  /** The destination's role is exempt: a monitor (trusted), or an external or liberated peer (seed 000). */
  | 'exempt-member';

export const COMPLAINT_IGNORED_REASONS: readonly ComplaintIgnoredReason[] = [
  'unknown-complainer',
  'not-monitor',
  'unknown-chunk',
  'duplicate',
  'member-gone',
  'exempt-member',
];

export type ComplaintOutcome =
  | {
      readonly kind: 'charged';
      readonly chunkNumber: number;
      readonly complainer: MemberId;
      /** The member the chunk was sent to. */
      readonly memberId: MemberId;
      readonly key: string;
      /** Complaints against `key` in the window, this one included. */
      readonly count: number;
      /** `count` is past the threshold: call `chooseExpulsions`. */
      readonly overThreshold: boolean;
    }
  | {
      readonly kind: 'ignored';
      readonly chunkNumber: number;
      readonly reason: ComplaintIgnoredReason;
      /** The complaining member, or null when the sender is not a member. */
      readonly complainer: MemberId | null;
    };

/** A [lost chunk x] message as the source received it. */
export interface Complaint {
  /** The endpoint the datagram came from: the complainer is looked up by it, not by the id it claims. */
  readonly from: Endpoint;
  readonly chunkNumber: number;
}

export interface ComplaintContext {
  readonly members: MembershipTable;
  readonly destinations: ChunkDestinations;
  readonly position: LedgerPosition;
}

interface Entry {
  readonly chunkNumber: number;
  readonly at: Instant;
}

/**
 * Source-side accountability (rule 8): monitors complain about chunks missing at play time,
 * the source charges each complaint to the member it had sent the chunk to, and a key past
 * the threshold within the window is expelled (`chooseExpulsions`).
 */
export class ComplaintLedger {
  readonly keying: ComplaintKeying;
  readonly window: ComplaintWindow;
  /** The exact threshold in complaints, or null when it is set in stream time. */
  readonly threshold: number | null;
  readonly thresholdMillis: number;
  readonly exemptRoles: readonly MemberRole[];
  readonly #entries = new Map<string, Entry[]>();
  readonly #ignored = new Map<ComplaintIgnoredReason, number>(
    COMPLAINT_IGNORED_REASONS.map((reason) => [reason, 0]),
  );
  #charged = 0;

  constructor(options: ComplaintLedgerOptions = {}) {
    this.keying = checkChoice('keying', options.keying ?? 'endpoint', ['endpoint', 'ip']);
    this.window = checkWindow(options.window ?? DEFAULT_COMPLAINT_WINDOW);
    if (options.threshold !== undefined && options.thresholdMillis !== undefined) {
      throw new ClusterError(
        'P2PSP_ERR_INVALID_OPTION',
        'thresholdMillis and threshold both given: set one of them (the threshold in time, or in complaints)',
      );
    }
    this.threshold =
      options.threshold === undefined ? null : checkInteger('threshold', options.threshold, 0);
    this.thresholdMillis = checkInteger(
      'thresholdMillis',
      options.thresholdMillis ?? DEFAULT_COMPLAINT_THRESHOLD_MILLIS,
      1,
      3_600_000,
    );
    this.exemptRoles = [...(options.exemptRoles ?? DEFAULT_EXEMPT_ROLES)];
    for (const role of this.exemptRoles) {
      if (!MEMBER_ROLES.includes(role)) {
        throw new ClusterError(
          'P2PSP_ERR_INVALID_OPTION',
          `exemptRoles may hold ${MEMBER_ROLES.join(', ')}; got ${String(role)}`,
        );
      }
    }
  }

  /** Whether members of `role` are never charged nor expelled. */
  isExempt(role: MemberRole): boolean {
    return this.exemptRoles.includes(role);
  }

  /** The ledger key of a member under this keying. */
  keyOf(member: Pick<Member, 'endpoint'>): string {
    return this.keying === 'ip'
      ? `ip ${member.endpoint.address}`
      : `endpoint ${formatEndpoint(member.endpoint)}`;
  }

  /**
   * Handles one [lost chunk x] end to end: checks the complainer is a monitor (by the
   * endpoint it came from), finds chunk x's destination, charges it once, and counts the
   * member's complaints (`Member.complaints`). Never throws on network input.
   */
  complain(complaint: Complaint, context: ComplaintContext): ComplaintOutcome {
    const chunkNumber = toChunkNumber(complaint.chunkNumber);
    const complainer = context.members.byEndpoint(complaint.from);
    const ignore = (reason: ComplaintIgnoredReason): ComplaintOutcome => {
      this.#ignored.set(reason, (this.#ignored.get(reason) ?? 0) + 1);
      return { kind: 'ignored', chunkNumber, reason, complainer: complainer?.memberId ?? null };
    };
    if (complainer === undefined) return ignore('unknown-complainer');
    if (complainer.role !== 'monitor') return ignore('not-monitor');
    const claim = context.destinations.claim(chunkNumber);
    if (claim.kind === 'unknown') return ignore('unknown-chunk');
    if (claim.kind === 'duplicate') return ignore('duplicate');
    const destination = context.members.get(claim.memberId);
    if (destination === undefined) return ignore('member-gone');
    if (this.isExempt(destination.role)) return ignore('exempt-member');
    const key = this.keyOf(destination);
    const count = this.charge(key, chunkNumber, context.position);
    context.members.recordComplaint(destination.memberId);
    return {
      kind: 'charged',
      chunkNumber,
      complainer: complainer.memberId,
      memberId: destination.memberId,
      key,
      count,
      overThreshold: count > this.thresholdAt(context.position),
    };
  }

  /** Low level: charges one complaint about `chunkNumber` to `key`; returns the windowed count. */
  charge(key: string, chunkNumber: number, position: LedgerPosition): number {
    let entries = this.#entries.get(key);
    if (entries === undefined) {
      entries = [];
      this.#entries.set(key, entries);
    }
    entries.push({ chunkNumber: toChunkNumber(chunkNumber), at: position.now });
    this.#charged++;
    return this.count(key, position);
  }

  /** Complaints against `key` within the window at `position`. */
  count(key: string, position: LedgerPosition): number {
    const entries = this.#entries.get(key);
    if (entries === undefined) return 0;
    const kept = entries.filter((entry) => this.#inWindow(entry, position));
    if (kept.length === 0) {
      this.#entries.delete(key);
    } else if (kept.length !== entries.length) {
      this.#entries.set(key, kept);
    }
    return kept.length;
  }

  /** Whether `key` is past the threshold within the window. */
  isOverThreshold(key: string, position: LedgerPosition): boolean {
    return this.count(key, position) > this.thresholdAt(position);
  }

  /** The threshold in complaints at `position`: `threshold`, or `thresholdMillis` in chunks. */
  thresholdAt(position: LedgerPosition): number {
    return this.threshold ?? this.chunksOf(this.thresholdMillis, position);
  }

  /**
   * `milliseconds` of stream in chunks at the position's chunk interval, to the nearest chunk
   * (the interval is the source's estimate and wobbles). With the threshold in time the
   * interval is capped at `thresholdMillis / 32`, so the threshold never falls below
   * DEFAULT_COMPLAINT_THRESHOLD chunks and a `stream-time` window holds as many thresholds
   * at a low bitrate as at any other (a free rider must still be able to reach it).
   */
  chunksOf(milliseconds: number, position: LedgerPosition): number {
    const cap =
      this.threshold === null
        ? this.thresholdMillis / DEFAULT_COMPLAINT_THRESHOLD
        : Number.POSITIVE_INFINITY;
    const interval = Math.max(0.01, Math.min(position.chunkIntervalMillis, cap));
    return Math.max(1, Math.round(milliseconds / interval));
  }

  /** Drops every complaint against `key` (e.g. an operator pardons an address). */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops complaints that left the window, for every key (call now and then). */
  prune(position: LedgerPosition): void {
    for (const key of [...this.#entries.keys()]) this.count(key, position);
  }

  /** Keys with complaints still stored (some may be outside the window until pruned). */
  keys(): readonly string[] {
    return [...this.#entries.keys()];
  }

  /** Complaints charged over the ledger's life. */
  get charged(): number {
    return this.#charged;
  }

  /** Complaints ignored over the ledger's life, by reason. */
  get ignored(): Readonly<Record<ComplaintIgnoredReason, number>> {
    return Object.fromEntries(this.#ignored) as Record<ComplaintIgnoredReason, number>;
  }

  #inWindow(entry: Entry, position: LedgerPosition): boolean {
    switch (this.window.kind) {
      case 'unbounded':
        return true;
      case 'time':
        return position.now - entry.at < this.window.milliseconds;
      case 'chunk-numbers':
      case 'stream-time': {
        const size =
          this.window.kind === 'chunk-numbers'
            ? this.window.size
            : this.chunksOf(this.window.milliseconds, position);
        // Serial distance from the complaint's chunk to the newest one (RFC 1982). Negative:
        // the complaint is "after" the newest chunk, the caller's position lags; keep it
        // rather than drop a real complaint.
        const distance = chunkNumberDistance(position.latestChunkNumber, entry.chunkNumber);
        return distance < size;
      }
    }
  }
}

/**
 * A chunk-number window in which a free rider (every chunk sent to it lost) reaches the
 * threshold: it gets one chunk per round of `clusterSize` chunks, so it needs
 * `(threshold + 1) * clusterSize` chunk numbers; `margin` (default 2) leaves room for an
 * uneven (ACS) schedule. Honest members with loss ratio p get about p * size / clusterSize
 * complaints in such a window, far below the threshold for small p.
 */
export function recommendedChunkWindow(
  clusterSize: number,
  threshold = DEFAULT_COMPLAINT_THRESHOLD,
  margin = 2,
): ComplaintWindow {
  const members = Math.max(1, Math.ceil(clusterSize));
  return { kind: 'chunk-numbers', size: Math.ceil((threshold + 1) * members * margin) };
}

function checkWindow(window: ComplaintWindow): ComplaintWindow {
  checkChoice('window.kind', window.kind, ['chunk-numbers', 'stream-time', 'time', 'unbounded']);
  switch (window.kind) {
    case 'unbounded':
      return window;
    case 'stream-time':
    case 'time':
      checkInteger('window.milliseconds', window.milliseconds, 1);
      return window;
    case 'chunk-numbers':
      checkInteger('window.size', window.size, 1, 2 ** 31 - 1);
      return window;
  }
}
