import type { Endpoint, Instant, MemberId, NatReport } from '@p2psp/wire';

/** Why the source dropped a datagram (each reason counted in `SourceStats`). */
export type SourceDropReason =
  /** Did not decode (truncated, bad version, unknown type...). */
  | 'malformed'
  /** From an endpoint that is not a member (and not a valid hello of a joiner). */
  | 'non-member'
  /** A message type the source does not take (a chunk, a peer list reply...). */
  | 'unexpected'
  /** A member id that does not match the sender's endpoint. */
  | 'member-mismatch'
  /** Arrived after the source stopped. */
  | 'stopped';

export const SOURCE_DROP_REASONS: readonly SourceDropReason[] = [
  'malformed',
  'non-member',
  'unexpected',
  'member-mismatch',
  'stopped',
];

/** A member as the source sees it: the table behind the dashboard (issue 5). */
export interface SourceMemberView {
  readonly memberId: MemberId;
  /** Its UDP endpoint as the source sees it (learnt from its hello). */
  readonly endpoint: Endpoint;
  readonly privateEndpoint: Endpoint | null;
  readonly nat: NatReport;
  readonly monitor: boolean;
  /** When its hello arrived and it entered the round robin. */
  readonly joinedAt: Instant;
  /** Chunks the source gave it (rule 1). */
  readonly chunksSent: number;
}

/** Counters for logs, metrics and the simulator; a snapshot, cheap to take. */
export interface SourceStats {
  readonly bytesIngested: number;
  /** Header bytes captured from the ingest (or given in the config). */
  readonly headerBytes: number;
  /** Chunks cut from the ingest (numbered, 32-bit wrap). */
  readonly chunksCut: number;
  /** Chunks sent to a member (exactly one member each, rule 1). */
  readonly chunksSent: number;
  /** Chunks dropped because the cluster was empty: the stream is live, it does not wait. */
  readonly chunksDropped: number;
  /** Payload bytes of the chunks sent. */
  readonly chunkBytesSent: number;
  /** Every UDP byte sent (chunks with their headers, hello-acks, goodbyes). */
  readonly datagramBytesSent: number;
  /** Every TCP byte written (join accepts and refusals). */
  readonly connectionBytesWritten: number;
  readonly joinsAccepted: number;
  readonly joinsRefused: number;
  /** Joins abandoned: no join request, or no hello, within `joinTimeoutMillis`. */
  readonly joinsTimedOut: number;
  /** Connections closed for a frame above `maxFrameBytes` or a frame that did not decode. */
  readonly connectionsRejected: number;
  readonly membersLeft: number;
  /** lost-chunk complaints received from members (rule 8; charged by issue 5's policies). */
  readonly complaintsReceived: number;
  readonly datagramsDropped: Readonly<Record<SourceDropReason, number>>;
  readonly members: number;
  readonly monitors: number;
  /** Joins in progress (accepted over TCP, no hello yet, or no request yet). */
  readonly joining: number;
  /** The current estimate of the time between chunks, from the ingest rate. */
  readonly chunkIntervalMillis: number;
  /** The number the next chunk will carry. */
  readonly nextChunkNumber: number;
}
