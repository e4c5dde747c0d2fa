import {
  CoreContext,
  type DatagramMessage,
  type Endpoint,
  encodeDatagram,
  type GoodbyeReason,
  type MemberId,
} from '@p2psp/wire';
import type { SourceEvent } from './source-events.js';
import { SOURCE_DROP_REASONS, type SourceCounters, type SourceDropReason } from './source-types.js';

/**
 * The source's timers. When several are due in one `handleTimeout`, they fire in the order
 * the components registered them: join timeouts, member liveness, keepalives, metadata copies,
 * child reports.
 */
export type SourceTimerName =
  | 'join-timeout'
  | 'member-liveness'
  | 'keepalive'
  | 'metadata-repeat'
  | 'child-report';

/**
 * Copies of every goodbye: it is a single datagram nobody acknowledges, and a lost one
 * leaves a peer waiting for a stream that ended (or the source feeding a peer that left).
 * Three independent copies make that p^3 (1e-6 at 1% loss); duplicates are ignored.
 */
const GOODBYE_COPIES = 3;

/**
 * What the source's components share (@p2psp/wire's `CoreContext`): the output queue, the
 * timer table, the counters and the drop counts; plus the two ways every component sends
 * a datagram, so each byte sent is counted in one place.
 */
export class SourceContext extends CoreContext<
  SourceEvent,
  SourceCounters,
  SourceTimerName,
  SourceDropReason
> {
  constructor() {
    super({
      stats: {
        bytesIngested: 0,
        chunksCut: 0,
        chunksSent: 0,
        chunksDropped: 0,
        chunkBytesSent: 0,
        datagramBytesSent: 0,
        connectionBytesWritten: 0,
        joinsAccepted: 0,
        joinsRefused: 0,
        joinsTimedOut: 0,
        connectionsRejected: 0,
        membersLeft: 0,
        strangersTold: 0,
        complaintsReceived: 0,
        membersExpelled: 0,
        silenceReportsReceived: 0,
        membersSkipped: 0,
        membersRemovedOnReports: 0,
        chunksRecovered: 0,
        externalsFedBySource: 0,
        membersMadeExternal: 0,
        stunRequestsAnswered: 0,
        natPairsImpossible: 0,
        membersIntroduced: 0,
        credentialsIssued: 0,
        symmetricNatsInferred: 0,
        externalsOnboarded: 0,
        externalNoticesSent: 0,
        peerListsSent: 0,
        peerListBytesSent: 0,
        peerListRequestsLimited: 0,
        metadataChanges: 0,
        metadataDatagramsSent: 0,
        joinsRedirected: 0,
        childReportsReceived: 0,
        childReportsSent: 0,
      },
      dropReasons: SOURCE_DROP_REASONS,
    });
  }

  /** Sends bytes already encoded (a STUN answer), counted in `datagramBytesSent`. */
  sendBytes(to: Endpoint, bytes: Uint8Array): void {
    this.stats.datagramBytesSent += bytes.length;
    this.send(to, bytes);
  }

  /** Encodes and sends one P2PSP datagram. */
  sendMessage(to: Endpoint, message: DatagramMessage): void {
    this.sendBytes(to, encodeDatagram(message));
  }

  /** Rule 6: a goodbye, sent `GOODBYE_COPIES` times (encoded once). */
  sendGoodbye(to: Endpoint, memberId: MemberId, reason: GoodbyeReason): void {
    const bytes = encodeDatagram({ type: 'goodbye', memberId, reason });
    for (let copy = 0; copy < GOODBYE_COPIES; copy++) this.sendBytes(to, bytes);
  }
}
