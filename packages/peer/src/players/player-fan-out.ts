import type { ServerResponse } from 'node:http';
import { createStreamHeaderWatcher, type StreamHeaderWatcher } from './stream-header-watcher.js';

/**
 * Finds where a player that joins mid-stream may start decoding: fed the played bytes in
 * order, returns the absolute offset (from the first byte pushed) of the first sync point
 * (Ogg page, MP3 frame, WebM cluster) once confirmed, or -1 (the shape of @p2psp/media's
 * `SyncScanner`). The offset may lie in an earlier push.
 */
export interface SyncPointFinder {
  push(bytes: Uint8Array): number;
}

/** Bytes held for a player while its sync point is not confirmed (an Ogg page is < 64 KiB). */
const MAX_PENDING_SYNC_BYTES = 1024 * 1024;

export interface PlayerFanOutOptions {
  /** A new finder for each player waiting for its first sync point; null = chunk boundaries. */
  readonly createSyncPointFinder?: (mediaType: string) => SyncPointFinder | null;
  /**
   * Watches the played stream for a new stream header (the source's ingest reconnected and
   * a new Ogg/WebM stream began), served to players that connect from then on. Default:
   * @p2psp/media's header capture for Ogg and WebM; null = keep the header given on join.
   */
  readonly createHeaderWatcher?: (mediaType: string) => StreamHeaderWatcher | null;
  /** A player with more than this many bytes unsent is too slow and dropped (default 1 MiB). */
  readonly maxQueuedBytes?: number;
  /** A player whose socket has not drained for this long is dropped (default 10 s). */
  readonly stallTimeoutMs?: number;
  /** Monotonic milliseconds. */
  readonly clock?: () => number;
  readonly onPlayerDrop?: (player: PlayerInfo, reason: PlayerDropReason) => void;
}

export type PlayerDropReason = 'slow' | 'stalled' | 'gone' | 'stream-end';

export interface PlayerInfo {
  readonly id: number;
  readonly remote: string;
  /** Stream bytes written to this player (header included). */
  readonly bytesWritten: number;
  /** The chunk number the player's data started at, or null while it waits for a sync point. */
  readonly firstChunkNumber: number | null;
}

interface Player {
  readonly id: number;
  readonly remote: string;
  readonly response: ServerResponse;
  bytesWritten: number;
  headerSent: boolean;
  /** Waiting for the first sync point; null once live. */
  finder: SyncPointFinder | null;
  /** What was pushed to `finder` so far (the sync point may be in an earlier chunk). */
  pending: Uint8Array[];
  pendingBytes: number;
  waitingForSync: boolean;
  firstChunkNumber: number | null;
  /** When the socket last had nothing queued (or the player arrived). */
  lastDrainedAt: number;
}

export interface FanOutCounters {
  playersServed: number;
  playersDroppedSlow: number;
  playersDroppedStalled: number;
  playersGone: number;
  chunksWritten: number;
}

const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/**
 * Writes the played stream to every connected HTTP player, like an Icecast mount: the
 * stream header first, then data from the next sync point, as one endless response. One
 * player's trouble never touches the others: a slow or vanished player is dropped alone.
 */
export class PlayerFanOut {
  readonly counters: FanOutCounters = {
    playersServed: 0,
    playersDroppedSlow: 0,
    playersDroppedStalled: 0,
    playersGone: 0,
    chunksWritten: 0,
  };
  private readonly players = new Map<number, Player>();
  private nextId = 1;
  private mediaType: string | null = null;
  private header: Uint8Array = new Uint8Array(0);
  private headerWatcher: StreamHeaderWatcher | null = null;
  private ended = false;
  private readonly maxQueuedBytes: number;
  private readonly stallTimeoutMs: number;
  private readonly clock: () => number;

  constructor(private readonly options: PlayerFanOutOptions = {}) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.clock = options.clock ?? (() => performance.now());
  }

  get playerCount(): number {
    return this.players.size;
  }

  get streamMediaType(): string | null {
    return this.mediaType;
  }

  listPlayers(): PlayerInfo[] {
    return [...this.players.values()].map((player) => ({
      id: player.id,
      remote: player.remote,
      bytesWritten: player.bytesWritten,
      firstChunkNumber: player.firstChunkNumber,
    }));
  }

  /** The stream header arrived (on join) or changed: players waiting for it start now. */
  setStreamHeader(mediaType: string, header: Uint8Array): void {
    const changed =
      this.mediaType !== null &&
      (this.mediaType !== mediaType || !Buffer.from(this.header).equals(Buffer.from(header)));
    if (this.mediaType !== mediaType || this.headerWatcher === null) {
      const create = this.options.createHeaderWatcher ?? createStreamHeaderWatcher;
      this.headerWatcher = create(mediaType);
    }
    this.mediaType = mediaType;
    this.header = header;
    for (const player of this.players.values()) {
      if (!player.headerSent) {
        this.sendHead(player);
      } else if (changed) {
        // A new header means a new logical stream (e.g. a new Ogg chain link): players
        // start over from it at the next sync point. TODO(media): chained Ogg could be
        // passed straight through instead.
        this.write(player, header);
        this.resync(player);
      }
    }
  }

  /** Serves a player: the response must not have been written to yet. */
  addPlayer(response: ServerResponse, remote: string): number {
    const id = this.nextId++;
    const player: Player = {
      id,
      remote,
      response,
      bytesWritten: 0,
      headerSent: false,
      finder: null,
      pending: [],
      pendingBytes: 0,
      waitingForSync: true,
      firstChunkNumber: null,
      lastDrainedAt: this.clock(),
    };
    this.players.set(id, player);
    this.counters.playersServed += 1;
    response.on('close', () => {
      if (this.players.delete(id)) {
        this.counters.playersGone += 1;
        this.options.onPlayerDrop?.(this.info(player), 'gone');
      }
    });
    response.on('drain', () => {
      player.lastDrainedAt = this.clock();
    });
    if (this.ended) {
      this.finish(player);
      return id;
    }
    if (this.mediaType !== null) this.sendHead(player);
    return id;
  }

  /** The next chunk in play order (lost chunks are skipped: they never reach here). */
  play(chunkNumber: number, payload: Uint8Array): void {
    const now = this.clock();
    const newHeader = this.headerWatcher?.push(payload) ?? null;
    if (newHeader !== null) this.changeHeaderInStream(newHeader);
    for (const player of [...this.players.values()]) {
      if (!player.headerSent) continue;
      let bytes = payload;
      if (player.waitingForSync) {
        const offset = player.finder ? player.finder.push(payload) : 0;
        if (player.finder) {
          player.pending.push(payload);
          player.pendingBytes += payload.byteLength;
        }
        if (offset < 0) {
          // Nothing decodable for too long: start over so memory stays bounded.
          if (player.pendingBytes > MAX_PENDING_SYNC_BYTES) this.resync(player);
          continue;
        }
        bytes = player.finder ? Buffer.concat(player.pending).subarray(offset) : payload;
        player.waitingForSync = false;
        player.finder = null;
        player.pending = [];
        player.pendingBytes = 0;
        player.firstChunkNumber = chunkNumber;
      }
      if (!this.checkHealth(player, now)) continue;
      this.write(player, bytes);
    }
    this.counters.chunksWritten += 1;
  }

  /**
   * A chunk was lost at its play time (rule 5: skipped, never stalls). The bytes after the
   * gap would not decode cleanly, so every player starts again at the next sync point.
   */
  skip(): void {
    this.headerWatcher?.reset();
    for (const player of this.players.values()) {
      if (player.headerSent && !player.waitingForSync) this.resync(player);
    }
  }

  /** The stream is over: end every response (players see a clean end of stream). */
  end(): void {
    this.ended = true;
    for (const player of [...this.players.values()]) this.finish(player);
  }

  /** Drops every player at once (shutdown). */
  closeAll(): void {
    this.ended = true;
    for (const player of [...this.players.values()]) {
      this.players.delete(player.id);
      player.response.destroy();
    }
  }

  private info(player: Player): PlayerInfo {
    return {
      id: player.id,
      remote: player.remote,
      bytesWritten: player.bytesWritten,
      firstChunkNumber: player.firstChunkNumber,
    };
  }

  private sendHead(player: Player): void {
    if (player.response.headersSent) return;
    player.response.writeHead(200, {
      'Content-Type': this.mediaType ?? 'application/octet-stream',
      // A live stream: never cached, no length (like an Icecast mount).
      'Cache-Control': 'no-cache, no-store',
      'Access-Control-Allow-Origin': '*',
      Connection: 'close',
    });
    player.response.flushHeaders();
    player.headerSent = true;
    if (this.header.byteLength > 0) this.write(player, this.header);
    this.resync(player);
  }

  /**
   * A new stream began inside the played data (its header pages are in it: players already
   * playing decode it as a chained stream). Players that connect from now on get the new
   * header; players still waiting for their first sync point got the old one, so they get
   * the new one too and wait for a sync point after it.
   */
  private changeHeaderInStream(header: Uint8Array): void {
    this.header = header;
    for (const player of this.players.values()) {
      if (!player.headerSent || !player.waitingForSync) continue;
      this.write(player, header);
      this.resync(player);
    }
  }

  private resync(player: Player): void {
    player.waitingForSync = true;
    player.pending = [];
    player.pendingBytes = 0;
    player.finder = this.options.createSyncPointFinder?.(this.mediaType ?? '') ?? null;
  }

  /** Drops a player whose socket does not keep up (rule: one slow player never stalls others). */
  private checkHealth(player: Player, now: number): boolean {
    const queued = player.response.writableLength;
    if (queued === 0) {
      player.lastDrainedAt = now;
      return true;
    }
    if (queued > this.maxQueuedBytes) {
      this.drop(player, 'slow');
      return false;
    }
    if (now - player.lastDrainedAt > this.stallTimeoutMs) {
      this.drop(player, 'stalled');
      return false;
    }
    return true;
  }

  private drop(player: Player, reason: 'slow' | 'stalled'): void {
    this.players.delete(player.id);
    if (reason === 'slow') this.counters.playersDroppedSlow += 1;
    else this.counters.playersDroppedStalled += 1;
    this.options.onPlayerDrop?.(this.info(player), reason);
    player.response.destroy();
  }

  private write(player: Player, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    player.bytesWritten += bytes.byteLength;
    player.response.write(bytes);
  }

  private finish(player: Player): void {
    this.players.delete(player.id);
    this.options.onPlayerDrop?.(this.info(player), 'stream-end');
    if (!player.response.headersSent) {
      player.response.writeHead(410, { 'Content-Type': 'text/plain' });
      player.response.end('The stream has ended.\n');
      return;
    }
    player.response.end();
  }
}
