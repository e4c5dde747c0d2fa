import type { MemberRole } from '@p2psp/cluster';
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

/** A member as the source sees it: the table behind the dashboard. */
export interface SourceMemberView {
  readonly memberId: MemberId;
  /** Its UDP endpoint as the source sees it (learnt from its hello). */
  readonly endpoint: Endpoint;
  readonly privateEndpoint: Endpoint | null;
  readonly nat: NatReport;
  /** monitor, member (fed round robin), external or liberated (not fed by the source). */
  readonly role: MemberRole;
  readonly monitor: boolean;
  /** When its join was admitted. */
  readonly joinedAt: Instant;
  /** Chunks the source gave it (rule 1). */
  readonly chunksSent: number;
  /** Complaints charged to it (rule 8). */
  readonly complaints: number;
}

/**
 * The source's counters: one object, owned by the core's context and written by the
 * component whose rule counts (joins, chunker, introductions, membership, scheduling).
 */
export interface SourceCounters {
  bytesIngested: number;
  /** Chunks cut from the ingest (numbered, 32-bit wrap). */
  chunksCut: number;
  /** Chunks sent to a member (exactly one member each, rule 1). */
  chunksSent: number;
  /** Chunks dropped because the cluster was empty: the stream is live, it does not wait. */
  chunksDropped: number;
  /** Payload bytes of the chunks sent. */
  chunkBytesSent: number;
  /** Every UDP byte sent (chunks with their headers, hello-acks, goodbyes). */
  datagramBytesSent: number;
  /** Every TCP byte written (join accepts and refusals). */
  connectionBytesWritten: number;
  joinsAccepted: number;
  joinsRefused: number;
  /** Joins abandoned: no join request, or no hello, within `joinTimeoutMillis`. */
  joinsTimedOut: number;
  /** Connections closed for a frame above `maxFrameBytes` or a frame that did not decode. */
  connectionsRejected: number;
  membersLeft: number;
  /** Reports from endpoints where no member is, answered with a goodbye (rule 6). */
  strangersTold: number;
  /** lost-chunk complaints received from members (rule 8), charged or not. */
  complaintsReceived: number;
  /** Members expelled for complaints past the threshold (rule 8). */
  membersExpelled: number;
  /** `member-silent` reports received: a member stopped hearing a neighbour. */
  silenceReportsReceived: number;
  /** Times the source stopped feeding a member on those reports, until it heard from it. */
  membersSkipped: number;
  /** Members removed on those reports and its own silence, before the member timeout. */
  membersRemovedOnReports: number;
  /**
   * Chunks resent flagged recovered: through a monitor after every monitor lost them (LRS),
   * or to their destination, which asked because our hop to it lost them.
   */
  chunksRecovered: number;
  /** Externals no fed member could reach, fed by the source itself (seed 000). */
  externalsFedBySource: number;
  /** Fed members behind symmetric NATs made external: a new external could not reach them. */
  membersMadeExternal: number;
  /** STUN Binding requests answered on the cluster port (joiners detect their NAT). */
  stunRequestsAnswered: number;
  /**
   * Member pairs never introduced to each other because hole punching cannot work between
   * their NAT types (@p2psp/nat `punchFeasibility`, e.g. random-port symmetric vs
   * port-restricted). They get no relays from each other.
   */
  natPairsImpossible: number;
  /**
   * Peer-list pages sent to members about a new member, so both sides punch: only to
   * members behind a NAT that filters the joiner's hellos when the source signs
   * credentials (the others take the joiner on its credential).
   */
  membersIntroduced: number;
  /** Membership credentials signed (each member's, at its join and at each renewal). */
  credentialsIssued: number;
  /** Members that reported `unknown` taken as symmetric: their NAT remapped their port. */
  symmetricNatsInferred: number;
  /** Non-exclusive chunks sent to external peers to onboard them (seed 000). */
  externalsOnboarded: number;
  /** `external-peer` notices sent to members (each sent in three copies). */
  externalNoticesSent: number;
  /** Peer lists sent on request (each may be several pages). */
  peerListsSent: number;
  /** Bytes of those peer lists (UDP payloads): what re-onboarding externals cost the source. */
  peerListBytesSent: number;
  /** Peer-list requests dropped: the requester asked again within the interval. */
  peerListRequestsLimited: number;
  /** Title or station info changes the ingest reported (`ingest-metadata`). */
  metadataChanges: number;
  /** stream-metadata datagrams sent (each change and each join, in copies). */
  metadataDatagramsSent: number;
  /** Joiners refused with a redirect to a child source (trees of clusters). */
  joinsRedirected: number;
  /** `child-report`s taken from child sources, and sent to our parent. */
  childReportsReceived: number;
  childReportsSent: number;
}

/** Counters for logs, metrics and the simulator; a snapshot, cheap to take. */
export interface SourceStats extends Readonly<SourceCounters> {
  /** Header bytes captured from the ingest (or given in the config). */
  readonly headerBytes: number;
  readonly datagramsDropped: Readonly<Record<SourceDropReason, number>>;
  /** Members that completed their join (hello received), of every role. */
  readonly members: number;
  readonly monitors: number;
  /** Members fed by the source (in the round robin). */
  readonly fedMembers: number;
  /** Joins in progress (accepted over TCP, no hello yet, or no request yet). */
  readonly joining: number;
  /** The current estimate of the time between chunks, from the ingest rate. */
  readonly chunkIntervalMillis: number;
  /** The number the next chunk will carry. */
  readonly nextChunkNumber: number;
}
