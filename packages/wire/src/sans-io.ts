import type { Endpoint } from './endpoint.js';
import type { StreamInfo } from './messages.js';

/**
 * The contract between a protocol core and whatever drives it (the Node runtime with real
 * sockets, or the deterministic simulator). Modelled on quinn-proto: the core owns no
 * socket, timer, clock or randomness; the driver feeds it inputs with the current time and
 * drains its outputs. Given the same inputs at the same instants, a core makes the same
 * outputs: that is what makes simulated runs reproducible.
 */

/** Milliseconds on the driver's monotonic clock (virtual in the simulator). */
export type Instant = number;

/**
 * Identifies one TCP connection of a core. Connections the core opens (`connect`) get
 * ids the core picks, all negative; connections the driver accepts get positive ids
 * the driver picks. So a core that both listens and connects never sees a clash.
 */
export type ConnectionId = number;

export type CoreInput =
  /** A UDP datagram arrived on the core's socket. */
  | { readonly type: 'datagram'; readonly from: Endpoint; readonly bytes: Uint8Array }
  /** A TCP connection is up: accepted by the driver, or one the core asked to `connect`. */
  | {
      readonly type: 'connection-open';
      readonly connection: ConnectionId;
      readonly remote: Endpoint;
    }
  /** Bytes arrived on a connection (unframed: cores frame with `FrameDecoder`). */
  | {
      readonly type: 'connection-data';
      readonly connection: ConnectionId;
      readonly bytes: Uint8Array;
    }
  /** The connection is gone (closed by the remote, reset, or failed to connect). */
  | {
      readonly type: 'connection-closed';
      readonly connection: ConnectionId;
      readonly reason: string;
    }
  /**
   * Stream bytes from the ingest (source only), in order. `role` is set by an ingest that
   * already tells the stream header from the media (a file's pacer): the `header` pieces
   * before the first `media` one are the header, and the core does not search it again.
   * Unset, the core finds the header in the bytes itself (an HTTP or stdin ingest).
   */
  | {
      readonly type: 'ingest-data';
      readonly bytes: Uint8Array;
      readonly role?: 'header' | 'media';
    }
  /**
   * The ingest reconnected (source only; e.g. the Icecast server restarted): the bytes that
   * follow start a new stream from its beginning, so a core that captured a stream header
   * (Ogg header pages, a WebM init segment) captures it again from them. Sent before the
   * first `ingest-data` of the new connection.
   */
  | { readonly type: 'ingest-restart'; readonly reason: string }
  /**
   * What the ingest learnt about the stream (source only): a new title (an Icecast input's
   * ICY `StreamTitle`, a source client's `/admin/metadata` update), and/or the station's
   * info (`ice-*` headers, options). An absent field keeps its current value.
   */
  | { readonly type: 'ingest-metadata'; readonly title?: string; readonly info?: StreamInfo }
  /** The ingest has ended for good (end of file without --loop, stdin closed). */
  | { readonly type: 'ingest-end'; readonly reason: string }
  /** The operator asked the node to stop (SIGINT/SIGTERM): leave politely. */
  | { readonly type: 'stop' };

export type CoreOutput<Event extends CoreEvent = CoreEvent> =
  | { readonly type: 'send-datagram'; readonly to: Endpoint; readonly bytes: Uint8Array }
  | { readonly type: 'connect'; readonly connection: ConnectionId; readonly to: Endpoint }
  | { readonly type: 'write'; readonly connection: ConnectionId; readonly bytes: Uint8Array }
  | { readonly type: 'close'; readonly connection: ConnectionId; readonly reason: string }
  /** The stream header (and its media type) players need first: on join, and if it changes. */
  | { readonly type: 'stream-header'; readonly mediaType: string; readonly header: Uint8Array }
  /**
   * The stream's title and station info changed (peer): players see `title` from chunk
   * `chunkNumber` on (an ICY `StreamTitle`), `info` at once (their `icy-*` headers).
   */
  | {
      readonly type: 'stream-metadata';
      readonly chunkNumber: number;
      readonly title: string;
      readonly info: StreamInfo;
    }
  /**
   * The next chunk in play-out order. `payload` is null when the chunk was missing at its
   * play time: it is skipped and counted lost, the output never stalls (DBS rule 5).
   */
  | { readonly type: 'play'; readonly chunkNumber: number; readonly payload: Uint8Array | null }
  /** Something worth a log line or a metric. */
  | { readonly type: 'event'; readonly event: Event }
  /** The core has finished (goodbyes sent): the driver may close everything and exit. */
  | { readonly type: 'stopped'; readonly reason: string };

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

/** What an event field may hold: plain values, so every driver can log or serialise it. */
export type EventFields = Readonly<Record<string, string | number | boolean | null>>;

/**
 * Something a core reports. Each core declares its events as a discriminated union on
 * `name` (noun-verb: `peer-join`, `chunk-lost`, `datagram-drop`), each member with its own
 * `fields` type, so consumers switch on `name` and read typed fields; nobody parses text.
 */
export interface CoreEvent<Name extends string = string, Fields extends EventFields = EventFields> {
  readonly name: Name;
  readonly level: EventLevel;
  readonly fields: Fields;
}

export interface SansIoCore<Event extends CoreEvent = CoreEvent> {
  /** Feed one input that happened at `now`. */
  handle(input: CoreInput, now: Instant): void;
  /** Called by the driver once `now` has reached `pollTimeout()`. */
  handleTimeout(now: Instant): void;
  /** The earliest instant the core wants `handleTimeout`, or undefined for none. */
  pollTimeout(): Instant | undefined;
  /** The next output, or undefined when drained. Drivers drain after every call above. */
  pollOutput(): CoreOutput<Event> | undefined;
}

/**
 * Seeded randomness for cores (no Math.random inside a core). The driver passes one in;
 * the simulator seeds it from the run's seed.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** Everything a core has queued, in order (the drain loop of tests and small drivers). */
export function drainOutputs<Output>(core: { pollOutput(): Output | undefined }): Output[] {
  const outputs: Output[] = [];
  for (let output = core.pollOutput(); output !== undefined; output = core.pollOutput()) {
    outputs.push(output);
  }
  return outputs;
}
