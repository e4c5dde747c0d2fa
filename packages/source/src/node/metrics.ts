import { performance } from 'node:perf_hooks';
import { MEMBER_ROLES, type MemberRole } from '@p2psp/cluster';
import { NodeMetrics, type StatMetric } from '@p2psp/host';
import type { MemberId } from '@p2psp/wire';
import type { SourceEvent } from '../core/source-events.js';
import type { SourceStats } from '../core/source-types.js';
import type { SourceHandle } from './start-source.js';

/** Admission to hello is one UDP round trip plus the joiner's NAT work: 1 ms to 10 s. */
const JOIN_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Joins admitted and not yet completed that are timed; a join without hello times out. */
const MAX_PENDING_JOINS = 1024;

/** The source's counters and gauges that read one figure of its core's stats. */
const SOURCE_STAT_METRICS: readonly StatMetric<SourceStats>[] = [
  {
    kind: 'counter',
    name: 'ingest_bytes_total',
    help: 'Stream bytes taken from the ingest.',
    read: (stats) => stats.bytesIngested,
  },
  {
    kind: 'counter',
    name: 'chunks_cut_total',
    help: 'Chunks cut from the ingest (rule 1).',
    read: (stats) => stats.chunksCut,
  },
  {
    kind: 'counter',
    name: 'chunks_sent_total',
    help: 'Chunks sent to a member, each to exactly one (rule 1).',
    read: (stats) => stats.chunksSent,
  },
  {
    kind: 'counter',
    name: 'chunks_lost_total',
    help: 'Chunks cut while no member could take them (the cluster was empty).',
    read: (stats) => stats.chunksDropped,
  },
  {
    kind: 'counter',
    name: 'chunks_recovered_total',
    help: 'Chunks resent through a monitor after every monitor lost them (LRS).',
    read: (stats) => stats.chunksRecovered,
  },
  {
    kind: 'counter',
    name: 'complaints_total',
    help: 'Lost-chunk complaints received from members (rule 8), charged or not.',
    read: (stats) => stats.complaintsReceived,
  },
  {
    kind: 'counter',
    name: 'expulsions_total',
    help: 'Members expelled for complaints past the threshold (rule 8).',
    read: (stats) => stats.membersExpelled,
  },
  {
    kind: 'counter',
    name: 'members_left_total',
    help: 'Members gone from the table: goodbye, silence past the liveness timeout, restart.',
    read: (stats) => stats.membersLeft,
  },
  {
    kind: 'counter',
    name: 'nat_pairs_impossible_total',
    help: 'Member pairs never introduced: hole punching cannot work between their NAT types.',
    read: (stats) => stats.natPairsImpossible,
  },
  {
    kind: 'gauge',
    name: 'joins_pending',
    help: 'Joins in progress: accepted over TCP, no hello yet.',
    read: (stats) => stats.joining,
  },
  {
    kind: 'gauge',
    name: 'chunk_interval_seconds',
    help: 'The time between chunks, estimated from the ingest rate.',
    read: (stats) => stats.chunkIntervalMillis / 1000,
  },
];

/**
 * The source's `/metrics`: its core's counters and member table read at scrape time, and
 * the join duration (admission to hello) observed from its events. Create it before
 * `startSource`, give `record` every event, then `attach` the handle.
 */
export class SourceMetrics {
  readonly metrics = new NodeMetrics();
  #source: SourceHandle | null = null;
  readonly #admitted = new Map<MemberId, number>();
  readonly #joinDuration = this.metrics.histogram(
    'join_duration_seconds',
    'Time from a joiner admission (join accept, rule 4) to the hello that completes its join.',
    JOIN_DURATION_BUCKETS,
  );

  constructor() {
    const metrics = this.metrics;
    metrics.statMetrics(() => this.#stats(), SOURCE_STAT_METRICS);
    metrics.labelledCounter(
      'datagrams_dropped_total',
      'Datagrams dropped as bad input or out of place, by reason.',
      'reason',
      () => this.#stats()?.datagramsDropped ?? {},
    );
    metrics.labelledCounter(
      'uploaded_bytes_total',
      'Bytes sent: UDP datagrams (chunks, hello acks, goodbyes) and TCP (join answers).',
      'kind',
      () => ({
        datagram: this.#source?.counters.datagramBytesSent ?? 0,
        connection: this.#source?.counters.tcpBytesSent ?? 0,
      }),
    );
    metrics.labelledCounter('joins_total', 'Joins, by outcome (rule 4).', 'outcome', () => {
      const stats = this.#stats();
      return {
        accepted: stats?.joinsAccepted ?? 0,
        refused: stats?.joinsRefused ?? 0,
        'timed-out': stats?.joinsTimedOut ?? 0,
      };
    });
    metrics.labelledCounter(
      'complaints_ignored_total',
      'Complaints not charged to a member, by reason (only monitors may complain, rule 8).',
      'reason',
      () => this.#source?.core.cluster.ledger.ignored ?? {},
    );
    metrics.labelledGauge('members', 'Members of the cluster, by role.', 'role', () => {
      const counts = Object.fromEntries(MEMBER_ROLES.map((role) => [role, 0])) as Record<
        MemberRole,
        number
      >;
      for (const member of this.#source?.core.members() ?? []) counts[member.role]++;
      return counts;
    });
  }

  attach(source: SourceHandle): void {
    this.#source = source;
  }

  /** Times joins: admission (`join-accept`) to hello (`peer-join`). */
  record(event: SourceEvent): void {
    if (event.name === 'join-accept') {
      if (this.#admitted.size >= MAX_PENDING_JOINS) {
        const oldest = this.#admitted.keys().next().value;
        if (oldest !== undefined) this.#admitted.delete(oldest);
      }
      this.#admitted.set(event.fields.memberId, performance.now());
    } else if (event.name === 'peer-join') {
      const admittedAt = this.#admitted.get(event.fields.memberId);
      if (admittedAt === undefined) return;
      this.#admitted.delete(event.fields.memberId);
      this.#joinDuration.observe((performance.now() - admittedAt) / 1000);
    }
  }

  #stats(): SourceStats | null {
    return this.#source?.core.stats() ?? null;
  }
}
