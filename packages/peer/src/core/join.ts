import {
  type ConnectionId,
  type Endpoint,
  encodeFrame,
  FrameDecoder,
  formatEndpoint,
  type Instant,
  type JoinAccept,
  NO_MEMBER,
} from '@p2psp/wire';
import type { PeerErrorCode } from './errors.js';
import type { ResolvedPeerConfig } from './peer-config.js';
import type { PeerContext } from './peer-context.js';
import { MAX_BUFFER_SIZE } from './play-out.js';

/** The id of the one TCP connection the peer opens (to the source); negative, see sans-io. */
const SOURCE_CONNECTION = -1;

export interface JoinHooks {
  /** A usable join accept: every component starts from it. */
  accepted(accept: JoinAccept, now: Instant): void;
  fail(code: PeerErrorCode, message: string): void;
  /** The peer stops without an error of its own (the source refused the join). */
  finish(reason: string): void;
}

/** What the peer plays with, told in the `join-accept` event. */
export interface JoinSettings {
  readonly chunkIntervalMillis: number;
  readonly playoutDelayChunks: number;
  readonly monitor: boolean;
}

/**
 * Rule 4 over TCP: connect to the source, send a join request, read its answer (a refusal,
 * or the accept with the configuration, the stream header and the member list), close.
 * The join must complete within `joinTimeoutMillis` (timer `join-timeout`). The UDP hellos
 * that follow are the neighbours' (neighbours.ts).
 */
export class Join {
  readonly #context: PeerContext;
  readonly #config: ResolvedPeerConfig;
  readonly #hooks: JoinHooks;
  readonly #decoder: FrameDecoder;
  #started = false;
  #connectionOpen = false;
  #mediaType = '';
  #redirect: Endpoint | null = null;

  constructor(context: PeerContext, config: ResolvedPeerConfig, hooks: JoinHooks) {
    this.#context = context;
    this.#config = config;
    this.#hooks = hooks;
    this.#decoder = new FrameDecoder({ maxFrameBytes: config.maxFrameBytes });
    context.timers.register('join-timeout', () =>
      hooks.fail(
        'P2PSP_ERR_JOIN_TIMEOUT',
        `no join accept from the source ${context.sourceKey} within ${config.joinTimeoutMillis} ms; check the address and that the source runs`,
      ),
    );
    // Sans-IO: the core has no clock. Due at once, so the driver's first handleTimeout
    // (or any first input) tells the time the join timeout counts from (`start`).
    context.timers.set('join-timeout', 0);
    context.push({ type: 'connect', connection: SOURCE_CONNECTION, to: config.source });
  }

  /** The stream's MIME type (from the join accept; empty before). */
  get mediaType(): string {
    return this.#mediaType;
  }

  /** The child source a full source's `redirect` refusal named (trees of clusters), or null. */
  get redirect(): Endpoint | null {
    return this.#redirect;
  }

  /** The first input or timeout: the join timeout counts from now. */
  start(now: Instant): void {
    if (this.#started) return;
    this.#started = true;
    this.#context.timers.set('join-timeout', now + this.#config.joinTimeoutMillis);
  }

  open(connection: ConnectionId): void {
    const context = this.#context;
    if (connection !== SOURCE_CONNECTION || context.state !== 'connecting') return;
    this.#connectionOpen = true;
    context.state = 'joining';
    context.push({
      type: 'write',
      connection,
      bytes: encodeFrame({
        type: 'join-request',
        role: this.#config.role,
        privateEndpoint: this.#config.privateEndpoint,
        nat: this.#config.nat,
        credential: this.#config.credential,
      }),
    });
  }

  data(connection: ConnectionId, bytes: Uint8Array, now: Instant): void {
    const context = this.#context;
    if (connection !== SOURCE_CONNECTION || context.state !== 'joining') return;
    this.#decoder.push(bytes);
    for (const result of this.#decoder) {
      if (!result.ok) {
        this.#hooks.fail(
          'P2PSP_ERR_JOIN_FAILED',
          `the source ${context.sourceKey} sent a bad frame (${result.error.code}: ${result.error.detail}); is it a P2PSP source of this version?`,
        );
        return;
      }
      const message = result.message;
      if (message.type === 'join-refused') {
        if (message.reason === 'redirect') this.#redirect = message.redirect;
        context.emit({
          name: 'join-refuse',
          // A redirect is the way into a tree of clusters (the rejoining core follows it).
          level: this.#redirect === null ? 'error' : 'info',
          fields: {
            code: 'P2PSP_ERR_JOIN_REFUSED',
            reason: message.reason,
            message: message.message,
            redirect: message.redirect === null ? null : formatEndpoint(message.redirect),
          },
        });
        this.#hooks.finish(`join-refused: ${message.reason}: ${message.message}`);
        return;
      }
      if (message.type === 'join-accept') {
        this.#onAccept(message, now);
        return;
      }
      this.#hooks.fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the source ${context.sourceKey} sent a ${message.type} frame instead of a join answer`,
      );
      return;
    }
  }

  closed(connection: ConnectionId, reason: string): void {
    if (connection !== SOURCE_CONNECTION) return;
    this.#connectionOpen = false;
    const state = this.#context.state;
    if (state === 'connecting' || state === 'joining') {
      this.#hooks.fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the connection to the source ${this.#context.sourceKey} closed before the join completed (${reason}); check the address and that the source runs`,
      );
    }
  }

  /**
   * The join is done: the connection closes, players get the stream header, and the
   * `join-accept` event tells what the peer plays with.
   */
  joined(accept: JoinAccept, settings: JoinSettings): void {
    const context = this.#context;
    this.#mediaType = accept.mediaType;
    this.#connectionOpen = false;
    context.timers.stop('join-timeout');
    context.push({ type: 'close', connection: SOURCE_CONNECTION, reason: 'joined' });
    context.push({
      type: 'stream-header',
      mediaType: accept.mediaType,
      // A copy: the accept's header is a view into a TCP read buffer.
      header: accept.header.slice(),
    });
    context.emit({
      name: 'join-accept',
      level: 'info',
      fields: {
        memberId: accept.memberId,
        source: context.sourceKey,
        observedEndpoint: formatEndpoint(accept.observedEndpoint),
        members: accept.members.length,
        chunkSize: accept.chunkSize,
        bufferSize: accept.bufferSize,
        chunkIntervalMillis: settings.chunkIntervalMillis,
        playoutDelayChunks: settings.playoutDelayChunks,
        monitor: settings.monitor,
      },
    });
  }

  /** The peer stops: the connection to the source closes if it is still open. */
  close(reason: string): void {
    const state = this.#context.state;
    if (!this.#connectionOpen && state !== 'connecting' && state !== 'joining') return;
    this.#connectionOpen = false;
    this.#context.push({ type: 'close', connection: SOURCE_CONNECTION, reason });
  }

  #onAccept(accept: JoinAccept, now: Instant): void {
    if (
      accept.memberId === NO_MEMBER ||
      accept.chunkSize === 0 ||
      accept.bufferSize < 2 ||
      accept.bufferSize > MAX_BUFFER_SIZE
    ) {
      this.#hooks.fail(
        'P2PSP_ERR_JOIN_FAILED',
        `the source's join accept is unusable (member id ${accept.memberId}, chunk size ${accept.chunkSize}, buffer ${accept.bufferSize})`,
      );
      return;
    }
    this.#hooks.accepted(accept, now);
  }
}
