export interface PlayerAbuseOptions {
  readers: number;
  nonReaders: number;
  slowReaders: number;
  floodPerSecond: number;
  floodSeconds: number;
  overCapRequests: number;
  seconds: number;
  playersPerAddress?: number;
}

export interface MemoryFigures {
  residentMiB: number;
  kernelTcpMiB: number;
}

export interface PlayerAbuseResult {
  readers: { count: number; stillPlaying: number; maxGapMs: number; medianGapMs: number };
  abusers: { nonReaders: number; slowReaders: number; droppedWithinMs: number | null };
  overCap: { requests: number; statusLines: string[]; retryAfter: (string | null)[] };
  flood: { opened: number; closed: number; maxOpenMs: number };
  playersDropped: Record<string, number>;
  playerDropLogLines: number;
  memory: { baseline: MemoryFigures; peak: MemoryFigures; end: MemoryFigures };
  samples: (MemoryFigures & { atMs: number; players: number; dropped: Record<string, number> })[];
}

export function runPlayerAbuse(options: PlayerAbuseOptions): Promise<PlayerAbuseResult>;
