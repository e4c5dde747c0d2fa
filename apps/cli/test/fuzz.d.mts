export const MUTATIONS: readonly string[];
export const CONNECTION_KINDS: readonly string[];

export interface ConnectionFigures {
  opened: number;
  answered: number;
  closedBySource: number;
  errors: number;
}

export interface FuzzResult {
  sent: number;
  sendSeconds: number;
  byMutation: Record<string, number>;
  byType: Record<string, number>;
  tcp: Record<string, ConnectionFigures>;
  tcpSkippedBusy: number;
  sendErrors: number;
  unauthenticated: { bytesOut: number; bytesIn: number };
  attackerMemberId: number | null;
  /** Nodes whose `done` settled during the run, with the reason: none expected. */
  stopped: string[];
  /** The nodes' log lines by level and `level name` (info: peer-expel, peer-leave only), and the fields of the first of each. */
  logs: {
    warn?: number;
    error?: number;
    info?: number;
    names: Record<string, number>;
    first: Record<string, object>;
    /** Every peer-expel and peer-leave line (the source's and the peers'), the first 100. */
    removals: object[];
  };
  received: { source: number; peer: number; secondPeer: number };
  drops: { source: Record<string, number>; peers: Record<string, number> };
  joins: {
    accepted: number;
    refused: number;
    timedOut: number;
    connectionsRejected: number;
    membersAtEnd: number;
    peerNeighboursAtEnd: number;
  };
  honest: {
    playerBytes: number;
    playerMaxGapMs: number;
    playerError: string;
    chunksPlayed: number;
    chunksLost: number;
    peerState: string;
    peerMemberIdChanged: boolean;
  };
  memory: { sent: number; rssMiB: number; heapMiB: number }[];
}

export function runFuzz(options: {
  datagrams: number;
  seed?: number;
  rate?: number;
  maxSeconds?: number;
  connectionEvery?: number;
  onProgress?: (sent: number) => void;
}): Promise<FuzzResult>;
