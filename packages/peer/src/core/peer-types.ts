import type { Endpoint, MemberId } from '@p2psp/wire';
import type { RepairStats } from './chunk-repair.js';
import type { VerificationStats } from './chunk-verification.js';

/** Why the peer dropped a datagram (each reason counted in `PeerStats`). */
export type PeerDropReason =
  /** Did not decode (truncated, bad version, unknown type...). */
  | 'malformed'
  /** From an endpoint that is neither the source nor a member, and not a hello or chunk. */
  | 'non-member'
  /** A message type the peer does not take from that sender. */
  | 'unexpected'
  /** A chunk outside the buffer window: older than the play position or B or more ahead. */
  | 'out-of-window'
  /** A chunk whose payload is larger than the announced chunk size. */
  | 'oversized-chunk'
  /** A chunk from an unknown endpoint whose origin is us, nobody, or a member elsewhere. */
  | 'bad-origin'
  /** Arrived before the join completed or after the peer stopped. */
  | 'not-joined'
  /** A non-exclusive chunk from an endpoint the source named as no external (seed 000). */
  | 'unknown-external'
  /** A chunk numbered beyond the source's schedule: not cut yet by the source, so forged. */
  | 'ahead-of-schedule'
  /** A chunk or hello from an endpoint that is no member the source listed to us. */
  | 'unlisted'
  /** A chunk whose hash is not the one the source signed (signed chunks): forged. */
  | 'forged-chunk'
  /** A chunk trailer that is no digest, or whose signature is not the source's. */
  | 'bad-digest'
  /** An unverified chunk with no room to wait for its digest (bounded per number and in all). */
  | 'unverified-full';

export const PEER_DROP_REASONS: readonly PeerDropReason[] = [
  'malformed',
  'non-member',
  'unexpected',
  'out-of-window',
  'oversized-chunk',
  'bad-origin',
  'not-joined',
  'unknown-external',
  'ahead-of-schedule',
  'unlisted',
  'forged-chunk',
  'bad-digest',
  'unverified-full',
];

/** The peer's life: connecting and joining over TCP, then streaming over UDP. */
export type PeerState = 'connecting' | 'joining' | 'streaming' | 'draining' | 'stopped';

/** A neighbour (another member of the cluster) as this peer sees it. */
export interface NeighbourView {
  readonly memberId: MemberId;
  readonly endpoint: Endpoint;
  /** Chunks sent to it minus chunks received from it (rule 7). */
  readonly debt: number;
  /** It answered our hello, or sent us something. */
  readonly reachable: boolean;
  /** Listed by the source, or answered our hello's nonce: only these are sent relays. */
  readonly verified: boolean;
}

/**
 * The peer's counters: one object, owned by the core's context and written by the component
 * whose rule counts (join, neighbours, relay, play-out).
 */
export interface PeerCounters {
  /** Chunks received from the source (each relayed to all neighbours, rule 2). */
  chunksFromSource: number;
  /** Chunks received from other members. */
  chunksFromPeers: number;
  /** Chunks received again (already buffered). */
  chunksDuplicated: number;
  /** Chunks cut before our join accept, ignored: the stream starts for us after them. */
  chunksBeforeJoin: number;
  /** Relays sent (one chunk to one neighbour). */
  chunksRelayed: number;
  /** Relays sent in a burst because the next source chunk came first (rule 3). */
  chunksBurst: number;
  /** Chunks played with a payload. */
  chunksPlayed: number;
  /** Chunks missing at their play time (played as null). */
  chunksLost: number;
  bytesPlayed: number;
  /** Every UDP byte sent. */
  datagramBytesSent: number;
  /** Neighbours dropped for debt above the threshold (rule 7). */
  neighboursDropped: number;
  /**
   * Neighbours dropped for silence: nothing from them for 2B chunk times while the stream
   * flowed (rule 6: a member that vanished without goodbye; external and liberated members
   * exempt). It comes back if it sends again.
   */
  neighboursSilent: number;
  /** `member-silent` reports sent: a neighbour relayed nothing for 2 rounds (rule 6, sooner). */
  silenceReportsSent: number;
  /**
   * Peer-list requests sent because chunks came from an endpoint the source did not list
   * (a joiner whose introduction was lost, or a stranger): at most one per 2 s.
   */
  unlistedPeerListRequests: number;
  /** STUN datagrams seen on the stream socket (NAT detection shares it): ignored. */
  stunDatagramsIgnored: number;
  /** Hellos sent to predicted ports of members behind symmetric NATs (NTS). */
  predictedHellosSent: number;
  /** Neighbours reached at an endpoint other than the listed one (a predicted port). */
  neighboursPunched: number;
  /** As an external (seed 000): non-exclusive chunks from the source, relayed to every member. */
  onboardingChunks: number;
  /** As an external: keepalives sent to members (NAT mappings kept open). */
  keepalivesSent: number;
  /** As an external: checks that found fed members silent (a peer-list request each). */
  reonboardings: number;
  /** As an external: onboarding chunks sent again to members that did not reach us. */
  onboardingChunksResent: number;
  /** As a member: `external-peer` notices from the source (externals it named). */
  externalNotices: number;
  /** As a member: externals learnt from their non-exclusive chunk (then verified, fed). */
  externalsOnboarded: number;
  /** Hellos sent to the private endpoints of members behind our public address (EMS). */
  privateHellosSent: number;
  /** Neighbours reached on their private endpoint, behind our own NAT (EMS). */
  neighboursPrivate: number;
  /** Members the source did not list to us, taken on the credential in their hello. */
  neighboursCredentialed: number;
  /** Hellos to the source to renew our credential before showing it expired. */
  credentialRenewals: number;
}

/**
 * The peer's role as the source's accept gave it (rule 4: our own entry's flags). External
 * and liberated peers (seed 000) are fed by the members only and relay nothing.
 */
export type PeerRole = 'peer' | 'monitor' | 'external' | 'liberated';

/** Counters and state for logs, metrics and the simulator; a snapshot, cheap to take. */
export interface PeerStats extends Readonly<PeerCounters> {
  readonly state: PeerState;
  /** Our role as the source's accept gave it (`peer` before the accept). */
  readonly role: PeerRole;
  readonly memberId: MemberId;
  readonly datagramsDropped: Readonly<Record<PeerDropReason, number>>;
  readonly neighbours: number;
  /** Chunks buffered and not yet played. */
  readonly bufferFill: number;
  /** The chunk number played next, or null before play-out starts. */
  readonly playChunkNumber: number | null;
  /** The time between chunks: announced by the source, then measured. */
  readonly chunkIntervalMillis: number;
  /** Monitors in the cluster when we joined (from the join accept). */
  readonly monitorCount: number;
  /** The stream's MIME type (from the join accept; empty before). */
  readonly mediaType: string;
  /** Why the peer stopped (the `stopped` output's reason), or null while running. */
  readonly stopReason: string | null;
  /** RMS-lite repair counters (all 0 when `repair` is off). */
  readonly repair: RepairStats;
  /** Signed chunks: digests and chunks checked (all 0 when the source signs nothing). */
  readonly verification: VerificationStats;
}
