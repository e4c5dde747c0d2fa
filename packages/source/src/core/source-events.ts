import type {
  AdmissionReason,
  ComplaintIgnoredReason,
  ComplaintOutcome,
  MemberRole,
  RemovalReason,
} from '@p2psp/cluster';
import type { CoreEvent, DatagramDropEvent, MemberId, NatType, RefusedReason } from '@p2psp/wire';

// Every event the source reports, one member of the union per name (noun-verb). Consumers
// (the CLI's status page, netsim, logs) switch on `name` and read typed fields; endpoints
// are formatted `HOST:PORT` text for logs, the member id is the key to match on.

/** The stream header is complete: captured from the ingest, or captured again after a restart. */
export type HeaderCaptureEvent = CoreEvent<
  'header-capture',
  { bytes: number } | { bytes: number; restart: true }
>;

/** The ingest reconnected: the next bytes start a new stream. */
export type IngestRestartEvent = CoreEvent<'ingest-restart', { reason: string }>;

/** The first chunk cut with nobody to feed (later ones are only counted). */
export type ChunkDropEvent = CoreEvent<'chunk-drop', { chunkNumber: number; reason: string }>;

/** A joiner's connection sent an oversized or undecodable frame, or not a join request. */
export type ConnectionRejectEvent = CoreEvent<
  'connection-reject',
  { remote: string; reason: string }
>;

/** Rule 4: a joiner was admitted and sent its join accept. */
export type JoinAcceptEvent = CoreEvent<
  'join-accept',
  { memberId: MemberId; remote: string; role: MemberRole; reason: AdmissionReason }
>;

export type JoinRefuseEvent = CoreEvent<
  'join-refuse',
  { remote: string; reason: RefusedReason; message: string }
>;

/** A join stalled: no join request, or no hello after the accept. */
export type JoinTimeoutEvent = CoreEvent<
  'join-timeout',
  {
    code: 'P2PSP_ERR_JOIN_TIMEOUT';
    remote: string;
    waitedFor: 'join-request' | 'hello';
    timeoutMillis: number;
  }
>;

/** A member's hello arrived: it is listed, and fed if its role says so. */
export type PeerJoinEvent = CoreEvent<
  'peer-join',
  { memberId: MemberId; endpoint: string; role: MemberRole; members: number }
>;

/** Fields of a member leaving the table, whatever the reason (a type: fields are a record). */
type RemovalFields = {
  memberId: MemberId;
  endpoint: string;
  reason: RemovalReason;
  complaints: number;
  members: number;
};

/** A member left the table: its goodbye, silence past the liveness timeout, a restart. */
export type PeerLeaveEvent = CoreEvent<'peer-leave', RemovalFields>;

/** A member was expelled (rule 8: complaints past the threshold). */
export type PeerExpelEvent = CoreEvent<'peer-expel', RemovalFields>;

/** A member's periodic stats report. */
export type StatsReceiveEvent = CoreEvent<
  'stats-receive',
  {
    memberId: MemberId;
    chunksReceived: number;
    chunksLost: number;
    chunksPlayed: number;
    neighbours: number;
    /** Players the member serves (its listeners). */
    players: number;
  }
>;

/** Rule 8: a [lost chunk] and what the ledger made of it. */
export type ComplaintReceiveEvent = CoreEvent<
  'complaint-receive',
  {
    from: MemberId;
    chunkNumber: number;
    outcome: ComplaintOutcome['kind'];
    charged: MemberId | null;
    count: number | null;
    ignored: ComplaintIgnoredReason | null;
  }
>;

/**
 * Members reported a member silent and the source, not hearing it either, stopped feeding it
 * until it hears from it again (`SourceCluster.memberSilent`).
 */
export type MemberSkipEvent = CoreEvent<
  'member-skip',
  { memberId: MemberId; reporters: number; silentMillis: number }
>;

/** A member pair left apart: hole punching cannot work between their NAT types. */
export type PunchSkipEvent = CoreEvent<
  'punch-skip',
  {
    memberId: MemberId;
    nat: NatType;
    otherMemberId: MemberId;
    otherNat: NatType;
    reason: string | null;
    pairsSkipped: number;
  }
>;

/** Seed 000: an external peer was sent its one non-exclusive chunk, to relay to every member. */
export type ExternalOnboardEvent = CoreEvent<
  'external-onboard',
  { memberId: MemberId; chunkNumber: number }
>;

/** A join accept or refusal could not be encoded (a header over the frame limit...). */
export type FrameEncodeFailEvent = CoreEvent<
  'frame-encode-fail',
  { type: string; code: string | null; message: string }
>;

/** The stream's title or station info changed; members get it from `chunkNumber` on. */
export type MetadataChangeEvent = CoreEvent<
  'metadata-change',
  { sequence: number; chunkNumber: number; title: string }
>;

/** A child source reported from one of our liberated hosts: joiners may be redirected to it. */
export type ChildAddEvent = CoreEvent<
  'child-add',
  { child: string; members: number; capacity: number }
>;

/** A learnt child source stopped reporting: no joiner is redirected to it any more. */
export type ChildLoseEvent = CoreEvent<'child-lose', { child: string; silentMillis: number }>;

/** The source stopped (stream end or stop) after its goodbyes. */
export type SourceStopEvent = CoreEvent<'source-stop', { reason: string; members: number }>;

export type SourceEvent =
  | HeaderCaptureEvent
  | IngestRestartEvent
  | ChunkDropEvent
  | ConnectionRejectEvent
  | JoinAcceptEvent
  | JoinRefuseEvent
  | JoinTimeoutEvent
  | PeerJoinEvent
  | PeerLeaveEvent
  | PeerExpelEvent
  | StatsReceiveEvent
  | ComplaintReceiveEvent
  | MemberSkipEvent
  | PunchSkipEvent
  | ExternalOnboardEvent
  | FrameEncodeFailEvent
  | MetadataChangeEvent
  | ChildAddEvent
  | ChildLoseEvent
  | SourceStopEvent
  | DatagramDropEvent;

export type SourceEventName = SourceEvent['name'];
