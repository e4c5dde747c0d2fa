import {
  CoreContext,
  type DatagramMessage,
  type Endpoint,
  encodeDatagram,
  formatEndpoint,
  type MemberId,
  NO_MEMBER,
} from '@p2psp/wire';
import type { PeerEvent } from './peer-events.js';
import {
  PEER_DROP_REASONS,
  type PeerCounters,
  type PeerDropReason,
  type PeerState,
} from './peer-types.js';

/**
 * The peer's timers. When several are due in one `handleTimeout`, they fire in the order the
 * components registered them: the join timeout, hello rounds, relays, repairs, external
 * keepalives, checks and liveness (seed 000), then the core's stats report, drain and source
 * silence.
 */
export type PeerTimerName =
  | 'join-timeout'
  | 'hello-round'
  | 'relay'
  | 'repair'
  | 'external-keepalive'
  | 'external-check'
  | 'external-liveness'
  | 'report'
  | 'drain'
  | 'source-silence';

/**
 * What the peer's components share (@p2psp/wire's `CoreContext`): the output queue, the timer
 * table, the counters and the drop counts; the peer's state and member id, which every rule
 * reads; and the ways a component sends a datagram, so each byte sent is counted in one place.
 */
export class PeerContext extends CoreContext<
  PeerEvent,
  PeerCounters,
  PeerTimerName,
  PeerDropReason
> {
  /** The source's endpoint: TCP for the join, UDP for everything after. */
  readonly source: Endpoint;
  /** The source's endpoint as `HOST:PORT`, for events and messages. */
  readonly sourceKey: string;
  /** Where the peer is in its life: the join and the core move it (rules 4 and 6). */
  state: PeerState = 'connecting';
  /** The member id the source gave us (NO_MEMBER before the accept). */
  memberId: MemberId = NO_MEMBER;

  constructor(source: Endpoint) {
    super({
      stats: {
        chunksFromSource: 0,
        chunksFromPeers: 0,
        chunksDuplicated: 0,
        chunksBeforeJoin: 0,
        chunksRelayed: 0,
        chunksBurst: 0,
        chunksPlayed: 0,
        chunksLost: 0,
        bytesPlayed: 0,
        datagramBytesSent: 0,
        neighboursDropped: 0,
        neighboursSilent: 0,
        silenceReportsSent: 0,
        unlistedPeerListRequests: 0,
        stunDatagramsIgnored: 0,
        predictedHellosSent: 0,
        neighboursPunched: 0,
        onboardingChunks: 0,
        keepalivesSent: 0,
        reonboardings: 0,
        onboardingChunksResent: 0,
        externalNotices: 0,
        externalsOnboarded: 0,
        privateHellosSent: 0,
        neighboursPrivate: 0,
        neighboursCredentialed: 0,
        credentialRenewals: 0,
      },
      dropReasons: PEER_DROP_REASONS,
    });
    this.source = source;
    this.sourceKey = formatEndpoint(source);
  }

  /** Sends bytes already encoded (a relay, byte for byte), counted in `datagramBytesSent`. */
  sendBytes(to: Endpoint, bytes: Uint8Array): void {
    this.stats.datagramBytesSent += bytes.length;
    this.send(to, bytes);
  }

  /** Encodes and sends one P2PSP datagram. */
  sendMessage(to: Endpoint, message: DatagramMessage): void {
    this.sendBytes(to, encodeDatagram(message));
  }
}
