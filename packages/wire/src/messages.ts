import type { Endpoint } from './endpoint.js';
import type { NAT_TYPES } from './format.js';

/**
 * The protocol version carried by every message. A decoder refuses other versions with
 * the typed error `bad-version`, so old and new nodes fail clearly instead of misreading.
 */
export const PROTOCOL_VERSION = 1;

/**
 * Member ids are assigned by the source, never reused within a source's life, 32 bits.
 * 0 means "no member" (for example a datagram from a node that has not joined).
 */
export type MemberId = number;
export const NO_MEMBER: MemberId = 0;

/** The role a node asks for when it joins. */
export type RequestedRole = 'peer' | 'monitor' | 'liberated';

/** Role flags of a cluster member, as the source lists them. */
export interface MemberFlags {
  readonly monitor: boolean;
  /** Fed by the cluster, contributes nothing, never complained about (seed 000). */
  readonly external: boolean;
  /** Not fed by the source, only by peers; serves the stream to another source (seed 000). */
  readonly liberated: boolean;
}

/** A member as the source announces it to joiners. */
export interface MemberInfo {
  readonly memberId: MemberId;
  /** The endpoint the source sees for the member's UDP socket. */
  readonly endpoint: Endpoint;
  /** The member's own (private) endpoint, for peers behind the same public IP (EMS). */
  readonly privateEndpoint: Endpoint | null;
  readonly flags: MemberFlags;
  /**
   * The member's NAT as it reported it in its join request, so other members can punch
   * towards it (port prediction for sequential symmetric NATs, impossible pairs).
   * Absent means unknown. On the wire only `type` and `portStep` travel (`mappedEndpoint`
   * decodes as null: `endpoint` is the public one).
   */
  readonly nat?: NatReport;
}

/** NAT classification (RFC 5780 behaviours folded into the classic names): `NAT_TYPES`. */
export type NatType = (typeof NAT_TYPES)[number];

export interface NatReport {
  readonly type: NatType;
  /** Port allocation step for sequential symmetric NATs, else 0. */
  readonly portStep: number;
  /** The public endpoint STUN reported, when known. */
  readonly mappedEndpoint: Endpoint | null;
}

/** What a node reports when it has not (or could not) detect its NAT. */
export const UNKNOWN_NAT_REPORT: NatReport = Object.freeze({
  type: 'unknown',
  portStep: 0,
  mappedEndpoint: null,
});

export type RefusedReason =
  | 'cluster-full'
  | 'bad-version'
  | 'bad-credential'
  | 'not-accepting'
  | 'redirect'
  | 'banned';

export type GoodbyeReason = 'leaving' | 'expelled' | 'stream-end' | 'timeout';

// ---------------------------------------------------------------------------
// TCP join exchange: length-prefixed frames on the connection to the source.

export interface JoinRequest {
  readonly type: 'join-request';
  readonly role: RequestedRole;
  /** The joiner's UDP socket as it sees it itself (for EMS), or null. */
  readonly privateEndpoint: Endpoint | null;
  readonly nat: NatReport;
  /** Monitor credential; empty when none. */
  readonly credential: Uint8Array;
}

export interface JoinAccept {
  readonly type: 'join-accept';
  readonly memberId: MemberId;
  /** The joiner's endpoint as the source sees it (TCP remote address, UDP port when known). */
  readonly observedEndpoint: Endpoint;
  /** Payload bytes per chunk. */
  readonly chunkSize: number;
  /** Buffer size B in chunks. */
  readonly bufferSize: number;
  readonly monitorCount: number;
  /** Interval between source chunks in microseconds, for paced relaying (rule 3). */
  readonly chunkIntervalMicros: number;
  /** The next chunk number the source will send: where the joiner's buffer starts. */
  readonly nextChunkNumber: number;
  /** MIME type of the stream, e.g. `audio/ogg`. */
  readonly mediaType: string;
  /** Bytes a late joiner's player needs before any chunk (Ogg header pages, WebM init). */
  readonly header: Uint8Array;
  readonly members: readonly MemberInfo[];
  /**
   * The source's Ed25519 public key (`PUBLIC_KEY_BYTES`): what its membership credentials
   * and chunk signatures are checked with. Empty from a source that signs nothing (a
   * trusted LAN): then only the members it lists are neighbours.
   */
  readonly sourceKey: Uint8Array;
}

export interface JoinRefused {
  readonly type: 'join-refused';
  readonly reason: RefusedReason;
  /** Where to go instead, for `redirect`. */
  readonly redirect: Endpoint | null;
  readonly message: string;
}

export type FrameMessage = JoinRequest | JoinAccept | JoinRefused;

// ---------------------------------------------------------------------------
// UDP datagrams.

export interface ChunkFlags {
  /** Sent to an external peer for onboarding: relay it once, it is not yours (seed 000). */
  readonly nonExclusive: boolean;
  /** A resend by the source after every monitor lost it (LRS). */
  readonly recovered: boolean;
}

export interface Chunk {
  readonly type: 'chunk';
  /** 32-bit chunk number, compared with serial arithmetic (RFC 1982). */
  readonly chunkNumber: number;
  /** The member the source gave this chunk to (the one that relays it). */
  readonly origin: MemberId;
  readonly flags: ChunkFlags;
  /** Zero-copy view into the datagram when decoded. */
  readonly payload: Uint8Array;
  /** Optional signature (CIS); empty when unsigned. */
  readonly signature: Uint8Array;
}

export interface Hello {
  readonly type: 'hello';
  /** The sender's member id (NO_MEMBER before it has one). */
  readonly memberId: MemberId;
  /** Echoed by the hello-ack, so punching can match answers to attempts. */
  readonly nonce: number;
  /**
   * The sender's membership credential (`signCredential`), to members: one that does not
   * know the sender takes it as a neighbour on the source's signature. Absent or empty:
   * none (the 10-byte hello).
   */
  readonly credential?: Uint8Array;
}

export interface HelloAck {
  readonly type: 'hello-ack';
  readonly memberId: MemberId;
  readonly nonce: number;
  /** From the source, answering a member's hello: that member's credential, fresh. */
  readonly credential?: Uint8Array;
}

export interface Goodbye {
  readonly type: 'goodbye';
  /** The member that leaves (or is removed, when the source sends it about someone else). */
  readonly memberId: MemberId;
  readonly reason: GoodbyeReason;
}

/** Monitor -> source: chunk x was missing when it had to be played (rule 8). */
export interface LostChunk {
  readonly type: 'lost-chunk';
  readonly memberId: MemberId;
  readonly chunkNumber: number;
}

/**
 * Peer -> neighbour (RMS-lite repair, an extension beyond P2PSP's DBS): "send me chunk x,
 * it never reached me". Answered with at most one chunk flagged `recovered`, never relayed
 * further. One chunk per request on purpose: a 10-byte datagram must not buy many
 * 1,000-byte ones (no amplification), whatever the answerer's rate limit.
 */
export interface ChunkRequest {
  readonly type: 'chunk-request';
  /** The asking member (checked against the endpoint it is known at). */
  readonly memberId: MemberId;
  readonly chunkNumber: number;
}

/**
 * Member -> source: `silentMemberId` relayed nothing to the sender for several rounds. A hint
 * only: the source decides, from several reporters and its own silence from that member.
 */
export interface MemberSilent {
  readonly type: 'member-silent';
  /** The reporting member. */
  readonly memberId: MemberId;
  /** The member it stopped hearing. */
  readonly silentMemberId: MemberId;
}

/**
 * Child source -> parent source, every second (trees of clusters): the child takes joins on
 * `joinPort` at the datagram's address, and tells the load of its subtree so the parent
 * sends redirected joiners where there is room.
 */
export interface ChildReport {
  readonly type: 'child-report';
  /** The TCP port the child source takes joins on; its address is the datagram's. */
  readonly joinPort: number;
  /** Members of the child's cluster plus those its own children report. */
  readonly members: number;
  /** Members the child's cluster plus its children's can hold. */
  readonly capacity: number;
}

export interface PeerListRequest {
  readonly type: 'peer-list-request';
  readonly memberId: MemberId;
}

/** One page of the member list; lists longer than a datagram are paged. */
export interface PeerListReply {
  readonly type: 'peer-list-reply';
  readonly offset: number;
  readonly total: number;
  readonly members: readonly MemberInfo[];
}

/** Tells members that an endpoint belongs to an external peer (seed 000). */
export interface ExternalPeerNotice {
  readonly type: 'external-peer';
  readonly memberId: MemberId;
  readonly endpoint: Endpoint;
}

/** Periodic counters a member reports (for monitors and the dashboard). */
export interface StatsReport {
  readonly type: 'stats-report';
  readonly memberId: MemberId;
  readonly chunksReceived: number;
  readonly chunksLost: number;
  readonly chunksPlayed: number;
  readonly chunksSent: number;
  /** Chunks held in the buffer now: an integer (u32 on the wire; counters above are u53). */
  readonly bufferFill: number;
  readonly players: number;
  readonly neighbours: number;
}

/**
 * What a station says about itself, as Icecast source clients announce it (`ice-name`,
 * `ice-description`, `ice-genre`, `ice-url`, `ice-bitrate`) and players show it (`icy-*`).
 * Empty text and a bitrate of 0 mean unknown.
 */
export interface StreamInfo {
  readonly name: string;
  readonly description: string;
  readonly genre: string;
  readonly url: string;
  /** Kilobits per second, as `icy-br`; 0 when unknown. */
  readonly bitrate: number;
}

export const UNKNOWN_STREAM_INFO: StreamInfo = Object.freeze({
  name: '',
  description: '',
  genre: '',
  url: '',
  bitrate: 0,
});

/**
 * Source -> member: the stream's current title (ICY `StreamTitle`) and station info, sent
 * whole on every change and to each joiner, a few copies each (a lost datagram or a late
 * joiner still learns the current one). Never relayed by peers.
 */
export interface StreamMetadata {
  readonly type: 'stream-metadata';
  /** Bumped on every change (32-bit, RFC 1982 compare): a late copy never undoes a newer one. */
  readonly sequence: number;
  /** The first chunk cut after the change: players see the new title when it plays. */
  readonly chunkNumber: number;
  /** UTF-8, at most `MAX_STREAM_TITLE_BYTES`; empty when none. */
  readonly title: string;
  /** Each text at most `MAX_STREAM_INFO_TEXT_BYTES` of UTF-8. */
  readonly info: StreamInfo;
}

export type DatagramMessage =
  | Chunk
  | Hello
  | HelloAck
  | Goodbye
  | LostChunk
  | PeerListRequest
  | PeerListReply
  | ExternalPeerNotice
  | StatsReport
  | ChunkRequest
  | StreamMetadata
  | MemberSilent
  | ChildReport;

export type Message = FrameMessage | DatagramMessage;
export type MessageType = Message['type'];
