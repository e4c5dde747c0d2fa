import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ICY_METAINT, IcyInterleaver } from '@p2psp/media';
import { chunkNumberDistance, type StreamInfo, UNKNOWN_STREAM_INFO } from '@p2psp/wire';
import { icyHeaders, STREAM_CORS_HEADERS } from './icy.js';
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
  /**
   * A player with more than this many bytes unsent, Node's write queue plus the socket's
   * kernel send queue (`checkPlayers`), is too slow and dropped (default 1 MiB).
   */
  readonly maxQueuedBytes?: number;
  /**
   * A player this far behind the live edge (its oldest unsent byte was written this long
   * ago) is dropped (default 10 s).
   */
  readonly stallTimeoutMs?: number;
  /** Monotonic milliseconds. */
  readonly clock?: () => number;
  /** Players coming and going (debug), and the first drop of each kind (warn). */
  readonly logger?: PlayerLogger;
}

export interface PlayerLogger {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Why the player port dropped or refused a connection, as counted in the peer's `/status`
 * (`playersDropped`): too many bytes unsent (`slow`), too far behind the live edge
 * (`stalled`), the port or this client's address at its cap (`server-full`,
 * `address-full`: 503), no complete request head in time (`head-timeout`: idle and
 * slowloris connections), a request that does not parse or whose head is too large
 * (`bad-request`).
 */
export const PLAYER_DROP_REASONS = [
  'slow',
  'stalled',
  'server-full',
  'address-full',
  'head-timeout',
  'bad-request',
] as const;
export type PlayerDropReason = (typeof PLAYER_DROP_REASONS)[number];

/** Why a player left: dropped by a rule, hung up, or the stream ended. */
export type PlayerLeaveReason =
  | Extract<PlayerDropReason, 'slow' | 'stalled'>
  | 'gone'
  | 'stream-end';

export interface PlayerInfo {
  readonly id: number;
  readonly remote: string;
  /** Bytes written to this player: the stream, its header, and ICY metadata blocks. */
  readonly bytesWritten: number;
  /** The chunk number the player's data started at, or null while it waits for a sync point. */
  readonly firstChunkNumber: number | null;
  /** The player asked for ICY metadata (`Icy-MetaData: 1`): titles are interleaved. */
  readonly icyMetadata: boolean;
}

/**
 * An in-process reader of the played stream (a private cluster's source in this process):
 * what an HTTP player gets, without HTTP. Runs on the fan-out's calls: keep it quick.
 */
export interface StreamTap {
  /**
   * The stream header: first, and again when a new stream begins (the data that follows
   * starts a new stream from its own sync point).
   */
  header(mediaType: string, header: Uint8Array): void;
  /** Stream bytes in order, from a sync point (again after each gap). */
  data(bytes: Uint8Array): void;
  /** The stream is over. */
  end(): void;
}

/** A reader held back until a sync point: players and taps alike. */
interface SyncWait {
  /** Waiting for the first sync point; null once live. */
  finder: SyncPointFinder | null;
  /** What was pushed to `finder` so far (the sync point may be in an earlier chunk). */
  pending: Uint8Array[];
  pendingBytes: number;
  waitingForSync: boolean;
}

interface Tap extends SyncWait {
  readonly sink: StreamTap;
  headerSent: boolean;
}

interface Player extends SyncWait {
  readonly id: number;
  readonly address: string;
  readonly remote: string;
  readonly response: ServerResponse;
  readonly socket: Socket;
  bytesWritten: number;
  headerSent: boolean;
  /** Its ICY framing, when it asked for metadata. */
  readonly icy: IcyInterleaver | null;
  firstChunkNumber: number | null;
  /** The socket's kernel send queue at the last `checkPlayers` (0 where unknown). */
  kernelQueued: number;
  /**
   * Recent writes not known to be taken by the player yet: `bytesWritten` after each, and
   * when; the first entry past what the player took tells how far behind live it is.
   */
  writeEnds: number[];
  writeTimes: number[];
  firstWrite: number;
}

export interface FanOutCounters {
  playersServed: number;
  playersGone: number;
  /** The most players connected at once (Icecast's `listener_peak`). */
  playersPeak: number;
  chunksWritten: number;
  /** Connections dropped or refused, by reason (the peer's `/status` `playersDropped`). */
  readonly dropped: Record<PlayerDropReason, number>;
}

const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
/**
 * A title announced further ahead of the played chunk than any buffer (B is at most 65,536
 * chunks) is from another numbering, a rejoin to a restarted source: it holds at once.
 */
const MAX_TITLE_LEAD_CHUNKS = 65_536;
/** Titles waiting for their chunk; more are older announcements, superseded anyway. */
const MAX_PENDING_TITLES = 16;
const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/**
 * Writes the played stream to every connected HTTP player, like an Icecast mount: the
 * stream header first, then data from the next sync point, as one endless response. One
 * player's trouble never touches the others: a slow or vanished player is dropped alone.
 */
export class PlayerFanOut {
  readonly counters: FanOutCounters = {
    playersServed: 0,
    playersGone: 0,
    playersPeak: 0,
    chunksWritten: 0,
    dropped: Object.fromEntries(PLAYER_DROP_REASONS.map((reason) => [reason, 0])) as Record<
      PlayerDropReason,
      number
    >,
  };
  private readonly players = new Map<number, Player>();
  private readonly taps = new Set<Tap>();
  private readonly playersByAddress = new Map<string, number>();
  private nextId = 1;
  private mediaType: string | null = null;
  private header: Uint8Array = new Uint8Array(0);
  private headerWatcher: StreamHeaderWatcher | null = null;
  private ended = false;
  private info: StreamInfo = UNKNOWN_STREAM_INFO;
  private started: Date | null = null;
  /** The title players see now; `version` tells each player's framing it changed. */
  private title = { text: '', version: 0 };
  /** Titles the source announced for chunks not played yet, in order. */
  private pendingTitles: { readonly chunkNumber: number; readonly title: string }[] = [];
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

  /** Players connected from this address (the per-address cap of the player server). */
  playersFrom(address: string): number {
    return this.playersByAddress.get(address) ?? 0;
  }

  /** When the stream header first came (the stream started here), null before. */
  get streamStart(): Date | null {
    return this.started;
  }

  /** The station's info (players' `icy-*` headers). */
  get streamInfo(): StreamInfo {
    return this.info;
  }

  /** The title players see now (ICY `StreamTitle`), empty when none. */
  get streamTitle(): string {
    return this.title.text;
  }

  /**
   * The source announced a title and station info (the core's `stream-metadata`): the info
   * holds at once, the title from chunk `chunkNumber` on, so players see it with the audio.
   */
  setStreamMetadata(chunkNumber: number, title: string, info: StreamInfo): void {
    this.info = info;
    this.pendingTitles.push({ chunkNumber, title });
    if (this.pendingTitles.length > MAX_PENDING_TITLES) this.pendingTitles.shift();
  }

  /** The headers of a stream response (and of a HEAD), as an Icecast mount sends them. */
  responseHeaders(icyMetadata: boolean): Record<string, string> {
    return {
      'Content-Type': this.mediaType ?? 'application/octet-stream',
      // A live stream: never cached, no length (like an Icecast mount).
      'Cache-Control': 'no-cache, no-store',
      ...STREAM_CORS_HEADERS,
      ...icyHeaders(this.info),
      ...(icyMetadata ? { 'icy-metaint': String(ICY_METAINT) } : {}),
      Connection: 'close',
    };
  }

  listPlayers(): PlayerInfo[] {
    return [...this.players.values()].map((player) => this.playerInfo(player));
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
    this.started ??= new Date();
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
    for (const tap of this.taps) {
      if (tap.headerSent && !changed) continue;
      tap.headerSent = true;
      tap.sink.header(mediaType, header);
      this.resync(tap);
    }
  }

  /**
   * Serves an in-process reader as a player is served (the header, then data from a sync
   * point); returns its removal.
   */
  addTap(sink: StreamTap): () => void {
    const tap: Tap = {
      sink,
      headerSent: false,
      finder: null,
      pending: [],
      pendingBytes: 0,
      waitingForSync: true,
    };
    if (this.ended) {
      sink.end();
      return () => {};
    }
    this.taps.add(tap);
    if (this.mediaType !== null) {
      tap.headerSent = true;
      sink.header(this.mediaType, this.header);
      this.resync(tap);
    }
    return () => this.taps.delete(tap);
  }

  /**
   * Serves a player: the response must not have been written to yet. `icyMetadata`: it
   * sent `Icy-MetaData: 1`, so titles are interleaved every `ICY_METAINT` bytes.
   */
  addPlayer(response: ServerResponse, options: { readonly icyMetadata?: boolean } = {}): number {
    const id = this.nextId++;
    const socket = response.socket as Socket;
    const address = socket.remoteAddress ?? '?';
    const player: Player = {
      id,
      address,
      remote: `${address}:${socket.remotePort ?? 0}`,
      response,
      socket,
      bytesWritten: 0,
      headerSent: false,
      icy: options.icyMetadata ? new IcyInterleaver(ICY_METAINT, () => this.title) : null,
      finder: null,
      pending: [],
      pendingBytes: 0,
      waitingForSync: true,
      firstChunkNumber: null,
      kernelQueued: 0,
      writeEnds: [],
      writeTimes: [],
      firstWrite: 0,
    };
    this.players.set(id, player);
    this.playersByAddress.set(address, this.playersFrom(address) + 1);
    this.counters.playersServed += 1;
    this.counters.playersPeak = Math.max(this.counters.playersPeak, this.players.size);
    this.options.logger?.debug({ player: id, remote: player.remote }, 'player-join');
    response.on('close', () => {
      if (this.forget(player)) {
        this.counters.playersGone += 1;
        this.logLeave(player, 'gone');
      }
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
    this.titleAt(chunkNumber);
    const newHeader = this.headerWatcher?.push(payload) ?? null;
    if (newHeader !== null) this.changeHeaderInStream(newHeader);
    for (const player of [...this.players.values()]) {
      if (!player.headerSent) continue;
      const waiting = player.waitingForSync;
      const bytes = this.passSync(player, payload);
      if (bytes === null) continue;
      if (waiting) player.firstChunkNumber = chunkNumber;
      if (!this.checkHealth(player, now)) continue;
      this.write(player, bytes);
    }
    for (const tap of this.taps) {
      const bytes = tap.headerSent ? this.passSync(tap, payload) : null;
      if (bytes !== null && bytes.byteLength > 0) tap.sink.data(bytes);
    }
    this.counters.chunksWritten += 1;
  }

  /** What a reader gets of the next payload: null while it waits for a sync point. */
  private passSync(reader: SyncWait, payload: Uint8Array): Uint8Array | null {
    if (!reader.waitingForSync) return payload;
    const offset = reader.finder ? reader.finder.push(payload) : 0;
    if (reader.finder) {
      reader.pending.push(payload);
      reader.pendingBytes += payload.byteLength;
    }
    if (offset < 0) {
      // Nothing decodable for too long: start over so memory stays bounded.
      if (reader.pendingBytes > MAX_PENDING_SYNC_BYTES) this.resync(reader);
      return null;
    }
    const bytes = reader.finder ? Buffer.concat(reader.pending).subarray(offset) : payload;
    reader.waitingForSync = false;
    reader.finder = null;
    reader.pending = [];
    reader.pendingBytes = 0;
    return bytes;
  }

  /**
   * A chunk was lost at its play time (rule 5: skipped, never stalls). The bytes after the
   * gap would not decode cleanly, so every player starts again at the next sync point.
   */
  skip(): void {
    this.headerWatcher?.reset();
    for (const reader of [...this.players.values(), ...this.taps]) {
      if (reader.headerSent && !reader.waitingForSync) this.resync(reader);
    }
  }

  /** The stream is over: end every response (players see a clean end of stream). */
  end(): void {
    this.ended = true;
    for (const player of [...this.players.values()]) this.finish(player);
    this.endTaps();
  }

  private endTaps(): void {
    const taps = [...this.taps];
    this.taps.clear();
    for (const tap of taps) tap.sink.end();
  }

  /** Drops every player at once (shutdown). */
  closeAll(): void {
    this.ended = true;
    for (const player of [...this.players.values()]) {
      this.forget(player);
      player.response.destroy();
    }
    this.endTaps();
  }

  /**
   * The health sweep (the player server runs it every second, so a player is judged even
   * while no chunk is played): takes each socket's kernel send queue, then drops the players
   * over a bound.
   */
  checkPlayers(kernelQueued: (socket: Socket) => number): void {
    const now = this.clock();
    for (const player of [...this.players.values()]) {
      player.kernelQueued = kernelQueued(player.socket);
      this.checkHealth(player, now);
    }
  }

  /**
   * Counts a connection dropped or refused; the first of each kind is logged, later ones are
   * only counted (a flood must not flood the log too).
   */
  countDrop(reason: PlayerDropReason, remote: string, details: object = {}): void {
    this.counters.dropped[reason] += 1;
    if (this.counters.dropped[reason] > 1) return;
    this.options.logger?.warn(
      {
        reason,
        remote,
        ...details,
        note: 'the first of its kind; the next ones are counted in /status playersDropped',
      },
      'player-drop',
    );
  }

  private playerInfo(player: Player): PlayerInfo {
    return {
      id: player.id,
      remote: player.remote,
      bytesWritten: player.bytesWritten,
      firstChunkNumber: player.firstChunkNumber,
      icyMetadata: player.icy !== null,
    };
  }

  /** The titles announced for this chunk or an earlier one take effect (the last wins). */
  private titleAt(chunkNumber: number): void {
    if (this.pendingTitles.length === 0) return;
    const lead = (entry: { readonly chunkNumber: number }) =>
      chunkNumberDistance(entry.chunkNumber, chunkNumber);
    const due = (entry: { readonly chunkNumber: number }) =>
      lead(entry) <= 0 || lead(entry) > MAX_TITLE_LEAD_CHUNKS;
    const last = this.pendingTitles.findLast(due);
    if (last === undefined) return;
    this.pendingTitles = this.pendingTitles.filter((entry) => !due(entry));
    if (last.title !== this.title.text) {
      this.title = { text: last.title, version: this.title.version + 1 };
    }
  }

  private sendHead(player: Player): void {
    if (player.response.headersSent) return;
    player.response.writeHead(200, this.responseHeaders(player.icy !== null));
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
    for (const tap of this.taps) {
      if (!tap.headerSent || !tap.waitingForSync) continue;
      tap.sink.header(this.mediaType ?? '', header);
      this.resync(tap);
    }
  }

  private resync(reader: SyncWait): void {
    reader.waitingForSync = true;
    reader.pending = [];
    reader.pendingBytes = 0;
    reader.finder = this.options.createSyncPointFinder?.(this.mediaType ?? '') ?? null;
  }

  /**
   * Drops a player that does not keep up, so one slow player never stalls the others nor
   * fills memory: too many bytes unsent (Node's queue plus the kernel's, Icecast's
   * queue-size rule), or its oldest unsent byte too old (it fell behind the live edge).
   */
  private checkHealth(player: Player, now: number): boolean {
    const unsent = player.response.writableLength + player.kernelQueued;
    if (unsent > this.maxQueuedBytes) {
      this.drop(player, 'slow', { unsent, kernelQueued: player.kernelQueued });
      return false;
    }
    // What the player took; the queues also hold HTTP chunk framing (under 1%), so this
    // errs toward a player being a little further behind than it is.
    const taken = player.bytesWritten - unsent;
    while (
      player.firstWrite < player.writeEnds.length &&
      (player.writeEnds[player.firstWrite] ?? 0) <= taken
    ) {
      player.firstWrite += 1;
    }
    if (player.firstWrite > 256 && player.firstWrite * 2 > player.writeEnds.length) {
      player.writeEnds.splice(0, player.firstWrite);
      player.writeTimes.splice(0, player.firstWrite);
      player.firstWrite = 0;
    }
    const oldestUnsent = player.writeTimes[player.firstWrite];
    if (oldestUnsent !== undefined && now - oldestUnsent > this.stallTimeoutMs) {
      this.drop(player, 'stalled', { unsent, behindMs: Math.round(now - oldestUnsent) });
      return false;
    }
    return true;
  }

  private drop(player: Player, reason: 'slow' | 'stalled', details: object): void {
    this.forget(player);
    this.countDrop(reason, player.remote, details);
    this.logLeave(player, reason);
    // A reset, not a FIN: a FIN would wait behind the unsent bytes, and the kernel would keep
    // them (and their memory) while it probes a closed window, for minutes.
    player.socket.resetAndDestroy();
  }

  /** Removes a player from the tables; false if it was gone already. */
  private forget(player: Player): boolean {
    if (!this.players.delete(player.id)) return false;
    const left = this.playersFrom(player.address) - 1;
    if (left > 0) this.playersByAddress.set(player.address, left);
    else this.playersByAddress.delete(player.address);
    return true;
  }

  private logLeave(player: Player, reason: PlayerLeaveReason): void {
    this.options.logger?.debug(
      { player: player.id, remote: player.remote, reason, bytes: player.bytesWritten },
      'player-leave',
    );
  }

  private write(player: Player, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const framed = player.icy?.push(bytes) ?? bytes;
    player.bytesWritten += framed.byteLength;
    player.writeEnds.push(player.bytesWritten);
    player.writeTimes.push(this.clock());
    player.response.write(framed);
  }

  private finish(player: Player): void {
    this.forget(player);
    this.logLeave(player, 'stream-end');
    if (!player.response.headersSent) {
      player.response.writeHead(410, { 'Content-Type': 'text/plain' });
      player.response.end('The stream has ended.\n');
      return;
    }
    player.response.end();
  }
}
