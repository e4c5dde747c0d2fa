import {
  type CoreInput,
  type CoreOutput,
  type Endpoint,
  formatEndpoint,
  type Instant,
  type MemberId,
  OutputQueue,
  type SansIoCore,
} from '@p2psp/wire';
import type { PeerErrorCode } from './errors.js';
import type { PeerConfig, ResolvedPeerConfig } from './peer-config.js';
import { PeerCore } from './peer-core.js';
import type { PeerEvent } from './peer-events.js';
import type { NeighbourView, PeerCounters, PeerState, PeerStats } from './peer-types.js';
import { RedirectPath } from './redirect-path.js';
import { type RejoinOptions, RejoinPolicy, resolveRejoinOptions } from './rejoin-policy.js';

/**
 * The source's silence that ends a session when the peer rejoins: three keepalive periods
 * of the source (5 s: a member fed nothing hears one at least every two periods), so one
 * lost keepalive is no silence. A plain PeerCore waits 30 s, since it can only stop.
 */
export const REJOIN_SOURCE_TIMEOUT_MILLIS = 15_000;

/** A peer's life as a whole: a session's state, or between two sessions. */
export type RejoiningPeerState = PeerState | 'rejoining';

/** Why a session ended, from its typed events: a `P2PSP_ERR_*` code and its message. */
export interface SessionEnd {
  readonly code: PeerErrorCode;
  readonly message: string;
}

/** The rejoins, as `/status` shows them. */
export interface RejoinView {
  /** Sessions joined again after the source removed the peer or fell silent. */
  readonly rejoins: number;
  /** Attempts of the rejoin in progress (0 while joined). */
  readonly attempts: number;
  /** Why the last session ended (`CODE: message`), null while the first one runs. */
  readonly lastCause: string | null;
}

export interface RejoiningPeerStats extends Omit<PeerStats, 'state'> {
  readonly state: RejoiningPeerState;
  readonly rejoin: RejoinView;
  /** The sources the current join went through, the configured one first (trees of clusters). */
  readonly path: readonly string[];
}

/** PeerStats fields that describe the session now; every other field counts (summed). */
const SESSION_FIELDS: Record<Exclude<keyof PeerStats, keyof PeerCounters>, true> = {
  state: true,
  role: true,
  memberId: true,
  datagramsDropped: true,
  neighbours: true,
  bufferFill: true,
  playChunkNumber: true,
  chunkIntervalMillis: true,
  monitorCount: true,
  mediaType: true,
  stopReason: true,
  repair: true,
  verification: true,
};

/**
 * A peer that joins again on its own (rule 4 once more, rule 6's departures healed): each
 * membership is a session, one `PeerCore`, and when the source removes the peer (its goodbye
 * with our member id) or falls silent (P2PSP_ERR_SOURCE_SILENT), a fresh session joins again
 * after `RejoinPolicy`'s jittered backoff, until it is back or the policy gives up. A fresh
 * core, so nothing of the old membership (member id, neighbours, buffer, debts) can confuse
 * the new one. The driver keeps its sockets: the UDP socket stays, and the players hear a
 * gap, then the new session's `stream-header` and plays.
 *
 * The first session's own failures (its join) stop the peer as before; a stop asked for and
 * the stream's end too. Sans-IO like the cores it runs: the attempts are a timer of its own,
 * the jitter comes from the config's seeded `random`.
 */
export class RejoiningPeerCore implements SansIoCore<PeerEvent> {
  readonly config: ResolvedPeerConfig;
  #sessionConfig: PeerConfig;
  readonly #policy: RejoinPolicy;
  readonly #queue = new OutputQueue<PeerEvent>();
  readonly #path: RedirectPath;
  /** The session's source said goodbye as `leaving` (stopped, not the stream's end). */
  #sourceLeft = false;
  #session: PeerCore;
  /** The session is a rejoin attempt until the source's first chunk reaches it. */
  #attempting = false;
  /** When the next attempt starts (no session runs meanwhile), or null. */
  #attemptAt: Instant | null = null;
  /** The streak's cause, and when its first session ended. */
  #cause: SessionEnd | null = null;
  #endedAt: Instant = 0;
  /** Why the last attempt failed. */
  #lastFailure: SessionEnd | null = null;
  #rejoins = 0;
  #stopAsked = false;
  #stopReason: string | null = null;
  /** The counters of the sessions that ended and were replaced, summed. */
  #ended: PeerStats | null = null;

  constructor(config: PeerConfig, rejoin?: RejoinOptions) {
    const options = resolveRejoinOptions(rejoin);
    this.#sessionConfig =
      options.timeoutMillis === 0
        ? config
        : {
            ...config,
            sourceTimeoutMillis: config.sourceTimeoutMillis ?? REJOIN_SOURCE_TIMEOUT_MILLIS,
          };
    this.#session = new PeerCore(this.#sessionConfig);
    this.config = this.#session.config;
    this.#path = new RedirectPath(this.config.source);
    this.#policy = new RejoinPolicy(options, this.config.random);
  }

  // -------------------------------------------------------------------------------------
  // SansIoCore

  handle(input: CoreInput, now: Instant): void {
    if (this.#stopReason !== null) return;
    if (input.type === 'stop') {
      this.#stopAsked = true;
      if (this.#attemptAt !== null) {
        this.#stop('stop');
        return;
      }
    }
    this.#session.handle(input, now);
    // Between sessions the ended one takes the datagrams: dropped and counted (not-joined).
    if (this.#attemptAt === null) this.#follow(now);
  }

  handleTimeout(now: Instant): void {
    if (this.#stopReason !== null) return;
    if (this.#attemptAt !== null) {
      if (now < this.#attemptAt) return;
      this.#attemptAt = null;
      this.#policy.attempt();
      this.#attempting = true;
      // Each attempt enters at the configured source, which redirects again if it is full.
      this.#path.restart();
      this.#startSession(this.#path.current);
    }
    this.#session.handleTimeout(now);
    this.#follow(now);
  }

  pollTimeout(): Instant | undefined {
    if (this.#stopReason !== null) return undefined;
    return this.#attemptAt ?? this.#session.pollTimeout();
  }

  pollOutput(): CoreOutput<PeerEvent> | undefined {
    const output = this.#queue.shift() ?? this.#session.pollOutput();
    if (output?.type === 'event' && output.event.name === 'stream-end') {
      this.#sourceLeft = output.event.fields.reason === 'leaving';
    }
    return output;
  }

  /**
   * Joins again as `role`: a peer turning liberated (to feed a private cluster) tells its
   * source so by joining as one, and back. The session leaves with its goodbyes (rule 6)
   * and a new one joins at once, a rejoin with no backoff (`rejoin-done` tells the gap);
   * the players hear a gap. Between sessions, the next attempt joins as `role`.
   */
  changeRole(role: 'peer' | 'liberated', now: Instant): void {
    const from = this.#sessionConfig.role ?? 'peer';
    if (this.#stopReason !== null || from === role) return;
    this.#sessionConfig = { ...this.#sessionConfig, role };
    this.#queue.emit({ name: 'role-change', level: 'info', fields: { from, to: role } });
    if (this.#attemptAt !== null) return;
    const session = this.#session;
    session.handle({ type: 'stop' }, now);
    for (let output = session.pollOutput(); output !== undefined; output = session.pollOutput()) {
      if (output.type !== 'stopped') this.#queue.push(output);
    }
    this.#attempting = false;
    this.#endedAt = now;
    this.#attemptAt = now;
  }

  // -------------------------------------------------------------------------------------
  // Views

  /** The session running now (or the last one, between sessions and after the end). */
  get session(): PeerCore {
    return this.#session;
  }

  get state(): RejoiningPeerState {
    if (this.#stopReason !== null) return 'stopped';
    if (this.#attemptAt !== null || this.#attempting) return 'rejoining';
    return this.#session.state;
  }

  get memberId(): MemberId {
    return this.#session.memberId;
  }

  get monitor(): boolean {
    return this.#session.monitor;
  }

  neighbours(): readonly NeighbourView[] {
    return this.#session.neighbours();
  }

  rejoin(): RejoinView {
    const cause = this.#cause;
    return {
      rejoins: this.#rejoins,
      attempts: this.#policy.attempts,
      lastCause: cause === null ? null : `${cause.code}: ${cause.message}`,
    };
  }

  /** The session's stats, its counters summed with those of the sessions before it. */
  stats(): RejoiningPeerStats {
    const current = this.#session.stats();
    const counted = this.#ended === null ? current : addCounts(current, this.#ended);
    return {
      ...counted,
      state: this.state,
      stopReason: this.#stopReason,
      rejoin: this.rejoin(),
      path: this.#path.view(),
    };
  }

  // -------------------------------------------------------------------------------------
  // Sessions

  /** After each input: did the session end, or did a rejoin attempt get the stream? */
  #follow(now: Instant): void {
    const session = this.#session;
    if (session.state === 'stopped') {
      this.#sessionEnded(session, now);
      return;
    }
    if (this.#attempting && session.state === 'streaming' && session.stats().chunksFromSource > 0) {
      this.#attempting = false;
      this.#rejoins++;
      this.#queue.emit({
        name: 'rejoin-done',
        level: 'info',
        fields: {
          memberId: session.memberId,
          attempts: this.#policy.attempts,
          gapMillis: Math.round(now - this.#endedAt),
        },
      });
      this.#policy.joined();
    }
  }

  /**
   * A session stopped: its last outputs go out first, then either the next attempt waits, or
   * the peer stops with the session's reason (or, having tried, with the cause and the tries).
   */
  #sessionEnded(session: PeerCore, now: Instant): void {
    let reason = 'stop';
    let end: SessionEnd | null = null;
    for (let output = session.pollOutput(); output !== undefined; output = session.pollOutput()) {
      if (output.type === 'stopped') {
        reason = output.reason;
        continue;
      }
      if (output.type === 'event') end = sessionEnd(output.event) ?? end;
      this.#queue.push(output);
    }
    const redirect = this.#stopAsked ? null : session.redirect;
    if (redirect !== null) {
      const from = formatEndpoint(this.#path.current);
      const refused = this.#path.follow(redirect);
      if (refused === null) {
        this.#queue.emit({
          name: 'join-redirect',
          level: 'info',
          fields: { from, to: formatEndpoint(redirect), hops: this.#path.view().length - 1 },
        });
        this.#startSession(redirect);
        return;
      }
      end = { code: 'P2PSP_ERR_JOIN_REFUSED', message: refused };
    }
    if (end === null && this.#sourceLeft && this.#path.redirected) {
      // A child source that stops is not the stream's end: its listeners rejoin the tree.
      end = {
        code: 'P2PSP_ERR_REMOVED',
        message: `the source ${formatEndpoint(this.#path.current)} left`,
      };
    }
    const attempt = this.#attempting;
    this.#attempting = false;
    // A stop asked for, the stream's end (no cause), or the first join's own failure.
    // A join a redirect sent elsewhere that fails (a child source gone) starts over too.
    const rejoinable =
      end !== null &&
      (attempt ||
        this.#path.redirected ||
        end.code === 'P2PSP_ERR_REMOVED' ||
        end.code === 'P2PSP_ERR_SOURCE_SILENT');
    if (this.#stopAsked || end === null || !rejoinable) {
      this.#stop(reason);
      return;
    }
    if (attempt) {
      this.#lastFailure = end;
    } else {
      this.#cause = end;
      this.#endedAt = now;
      this.#lastFailure = null;
    }
    const cause = this.#cause ?? end;
    const decision = this.#policy.failed(now);
    if (decision.kind === 'wait') {
      this.#attemptAt = decision.at;
      this.#queue.emit({
        name: 'rejoin-wait',
        level: attempt ? 'info' : 'warn',
        fields: {
          code: cause.code,
          cause: cause.message,
          attempt: decision.attempt,
          delayMillis: decision.at - now,
          lastFailure: this.#lastFailure === null ? null : describe(this.#lastFailure),
        },
      });
      return;
    }
    if (decision.attempts === 0) {
      // Rejoining is off: the session's own reason, as a plain PeerCore stops.
      this.#stop(reason);
      return;
    }
    const failure = this.#lastFailure === null ? '' : ` (last: ${describe(this.#lastFailure)})`;
    const message = `${cause.message}; rejoining failed: ${decision.attempts} attempts in ${Math.round(decision.elapsedMillis)} ms${failure}`;
    this.#queue.emit({ name: 'peer-fail', level: 'error', fields: { code: cause.code, message } });
    this.#stop(`${cause.code}: ${message}`);
  }

  /**
   * A new session joins `source`. The ended one is counted once it is replaced: until then
   * it is the current one, and it goes on counting the datagrams it drops between sessions.
   */
  #startSession(source: Endpoint): void {
    const ended = this.#session.stats();
    this.#ended = this.#ended === null ? ended : addCounts(ended, this.#ended);
    this.#session = new PeerCore({ ...this.#sessionConfig, source });
    this.#sourceLeft = false;
  }

  #stop(reason: string): void {
    this.#attemptAt = null;
    this.#stopReason = reason;
    this.#queue.push({ type: 'stopped', reason });
  }
}

/** The end a session's event tells, if it tells one. */
function sessionEnd(event: PeerEvent): SessionEnd | null {
  switch (event.name) {
    case 'peer-expel':
      return {
        code: 'P2PSP_ERR_REMOVED',
        message: `removed by the source (${event.fields.reason})`,
      };
    case 'peer-fail':
      return event.fields;
    case 'join-refuse':
      return {
        code: event.fields.code,
        message: `the source refused the join (${event.fields.reason}: ${event.fields.message})`,
      };
    default:
      return null;
  }
}

function describe(end: SessionEnd): string {
  return `${end.code}: ${end.message}`;
}

/** `current` with every counter (and the drop and repair counts) plus `earlier`'s. */
function addCounts(current: PeerStats, earlier: PeerStats): PeerStats {
  const sum: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(current)) {
    if (key in SESSION_FIELDS || typeof value !== 'number') continue;
    sum[key] = value + (earlier[key as keyof PeerCounters] ?? 0);
  }
  return {
    ...(sum as unknown as PeerStats),
    datagramsDropped: addRecords(current.datagramsDropped, earlier.datagramsDropped),
    repair: addRecords(current.repair, earlier.repair),
  };
}

function addRecords<Counts extends object>(current: Counts, earlier: Counts): Counts {
  const sum: Record<string, number> = {};
  for (const [key, value] of Object.entries(current)) {
    sum[key] = (value as number) + ((earlier as Record<string, number>)[key] ?? 0);
  }
  return sum as Counts;
}
