import {
  type HostCounters,
  type MetricsHistogram,
  NodeMetrics,
  type StatMetric,
} from '@p2psp/host';
import type { RejoiningPeerStats } from '../core/rejoining-peer-core.js';

/** What the peer's metrics read at scrape time. */
export interface PeerMetricsSource {
  /** The core's stats (its sessions' counters summed), or null before the core runs. */
  stats(): RejoiningPeerStats | null;
  readonly host: Readonly<HostCounters> | null;
  players(): number;
}

/**
 * A join takes a TCP round trip, the NAT detection (up to its 3 s timeout against the
 * source) and a hello round trip: buckets from 5 ms to 10 s.
 */
export const JOIN_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface PeerMetrics {
  readonly metrics: NodeMetrics;
  /** Observed once, when the join is done (from start to the stream header). */
  readonly joinDuration: MetricsHistogram;
}

/** The peer's counters and gauges that read one figure of its core's stats. */
const PEER_STAT_METRICS: readonly StatMetric<RejoiningPeerStats>[] = [
  {
    kind: 'counter',
    name: 'chunks_played_total',
    help: 'Chunks handed to the players with a payload.',
    read: (stats) => stats.chunksPlayed,
  },
  {
    kind: 'counter',
    name: 'chunks_lost_total',
    help: 'Chunks missing at their play time (played as a gap).',
    read: (stats) => stats.chunksLost,
  },
  {
    kind: 'counter',
    name: 'chunks_relayed_total',
    help: 'Relays sent: one chunk to one neighbour (rule 2).',
    read: (stats) => stats.chunksRelayed,
  },
  {
    kind: 'counter',
    name: 'chunks_duplicated_total',
    help: 'Chunks received again while already buffered.',
    read: (stats) => stats.chunksDuplicated,
  },
  {
    kind: 'counter',
    name: 'rejoins_total',
    help: 'Joins again after the source removed this peer or fell silent.',
    read: (stats) => stats.rejoin.rejoins,
  },
  {
    kind: 'gauge',
    name: 'buffer_chunks',
    help: 'Chunks buffered and not yet played (the play-out buffer fill).',
    read: (stats) => stats.bufferFill,
  },
  {
    kind: 'gauge',
    name: 'chunk_interval_seconds',
    help: 'The time between chunks: announced by the source, then measured.',
    read: (stats) => stats.chunkIntervalMillis / 1000,
  },
];

/** The peer's `/metrics`: its core's counters read at scrape time, and its join. */
export function createPeerMetrics(source: PeerMetricsSource): PeerMetrics {
  const metrics = new NodeMetrics();
  metrics.statMetrics(() => source.stats(), PEER_STAT_METRICS);
  metrics.labelledCounter(
    'chunks_received_total',
    'Chunks received, from the source or from other members (rules 1 and 2).',
    'from',
    () => {
      const stats = source.stats();
      return { source: stats?.chunksFromSource ?? 0, peer: stats?.chunksFromPeers ?? 0 };
    },
  );
  metrics.labelledCounter(
    'datagrams_dropped_total',
    'Datagrams dropped as bad input or out of place, by reason.',
    'reason',
    () => source.stats()?.datagramsDropped ?? {},
  );
  metrics.labelledCounter(
    'uploaded_bytes_total',
    'Bytes sent: UDP datagrams (relays, hellos, complaints) and TCP (the join).',
    'kind',
    () => ({
      datagram: source.host?.datagramBytesSent ?? 0,
      connection: source.host?.tcpBytesSent ?? 0,
    }),
  );
  metrics.labelledCounter(
    'neighbours_dropped_total',
    'Neighbours dropped: for debt past the threshold (rule 7) or for silence (rule 6).',
    'reason',
    () => {
      const stats = source.stats();
      return { debt: stats?.neighboursDropped ?? 0, silent: stats?.neighboursSilent ?? 0 };
    },
  );
  metrics.labelledGauge(
    'members',
    'Members of the cluster this peer knows, by role: its neighbours and itself.',
    'role',
    () => ({ neighbour: source.stats()?.neighbours ?? 0, self: 1 }),
  );
  metrics.gauge('players', 'Players connected to the player port.', () => source.players());
  const joinDuration = metrics.histogram(
    'join_duration_seconds',
    'Time from the start of the join (NAT detection, TCP join, hello) to the stream header.',
    JOIN_DURATION_BUCKETS,
  );
  return { metrics, joinDuration };
}
