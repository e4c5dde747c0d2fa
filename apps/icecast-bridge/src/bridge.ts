import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { IcyMetadataStripper } from '@p2psp/media';
import { reconnectDelay } from '@p2psp/wire';
import { BridgeError, systemCode } from './errors.js';
import {
  type IcecastStreamDetails,
  openIcecastMount,
  type SourceMethod,
  setIcecastTitle,
} from './icecast-source-client.js';
import { openPlayerStream, type PlayerStream } from './player-stream.js';
import {
  describeTarget,
  type IcecastTarget,
  parseIcecastTarget,
  parsePlayerUrl,
  redactUrl,
} from './urls.js';

/** A minimal logger (a pino logger fits). */
export interface BridgeLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface IcecastBridgeOptions {
  /** The peer's player URL, e.g. http://127.0.0.1:8080/stream (any Icecast-like URL works). */
  readonly from: string;
  /** The Icecast mount: icecast://source:PASSWORD@HOST:PORT/MOUNT. */
  readonly to: string;
  /**
   * What Icecast shows about the stream (`ice-*` headers). Fields left out are the peer's
   * (its `icy-name`, `icy-description`, `icy-genre`, `icy-url`).
   */
  readonly details?: IcecastStreamDetails;
  readonly logger?: BridgeLogger;
  /** First reconnect delay (default 500 ms), doubled after each failure... */
  readonly reconnectInitialMs?: number;
  /** ...up to this (default 5 s): a radio's Icecast mount should not stay empty long. */
  readonly reconnectMaxMs?: number;
  /** Connecting and first answers, on either side (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** No byte from the peer for this long ends the connection pair (default 10 s). */
  readonly idleTimeoutMs?: number;
  /** Uniform in [0, 1), for the jitter; default Math.random. */
  readonly random?: () => number;
}

export interface IcecastBridgeStatus {
  readonly state: 'streaming' | 'reconnecting' | 'stopped';
  /** The source method Icecast took (PUT, or SOURCE on an Icecast older than 2.4). */
  readonly method: SourceMethod | null;
  readonly contentType: string | null;
  readonly bytesPushed: number;
  /** Connection pairs opened, the first included. */
  readonly sessions: number;
  readonly lastError: string | null;
  /** The last title read from the peer (ICY `StreamTitle`), null before any. */
  readonly title: string | null;
  /** Titles Icecast took (`/admin/metadata` answered 200). */
  readonly titlesForwarded: number;
}

export interface IcecastBridge {
  status(): IcecastBridgeStatus;
  /** Resolves once stopped. */
  readonly done: Promise<string>;
  stop(): Promise<void>;
}

/** A connection pair: the peer's player stream in, the Icecast source connection out. */
interface Session {
  readonly input: PlayerStream;
  readonly output: Socket;
  readonly method: SourceMethod;
}

const silentLogger: BridgeLogger = { info() {}, warn() {} };

/** Bytes pushed before a connection pair counts as working again (resets the backoff). */
const WORKING_BYTES = 64 * 1024;

/**
 * Pushes a p2psp stream to an Icecast mount: reads a peer's player URL and writes it to the
 * mount as a source client. The first connection pair must work (the error names the
 * problem: unreachable, 401, 403 mount in use); after that, when either side fails, both
 * are reopened with a jittered, capped backoff. Each pair starts from a fresh player
 * connection, so Icecast always gets the stream header first (an Ogg mount needs it).
 */
export async function startIcecastBridge(options: IcecastBridgeOptions): Promise<IcecastBridge> {
  const from = parsePlayerUrl(options.from);
  const to: IcecastTarget = parseIcecastTarget(options.to);
  const logger = options.logger ?? silentLogger;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const initialMs = options.reconnectInitialMs ?? 500;
  const maxMs = options.reconnectMaxMs ?? 5000;
  const random = options.random ?? Math.random;
  const fields = { from: redactUrl(from.href), to: describeTarget(to) };

  let method: SourceMethod = 'PUT';
  let state: IcecastBridgeStatus['state'] = 'reconnecting';
  let contentType: string | null = null;
  let bytesPushed = 0;
  let sessions = 0;
  let lastError: string | null = null;
  let title: string | null = null;
  let titlesForwarded = 0;
  /** A title update in flight: the next one waits for it, so Icecast gets them in order. */
  let titleUpdate: Promise<void> = Promise.resolve();
  let stopped = false;
  let current: Session | null = null;
  // stop() aborts it: a sleep in progress ends at once, and none waits after that.
  const stopping = new AbortController();
  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((resolve) => {
    resolveDone = resolve;
  });

  const open = async (): Promise<Session> => {
    const input = await openPlayerStream(from, connectTimeoutMs);
    try {
      const output = await openIcecastMount(to, input.contentType, {
        details: { ...input.station, ...options.details },
        method,
        timeoutMs: connectTimeoutMs,
      });
      if (output.method !== method) {
        logger.warn({ ...fields }, 'bridge-source-fallback');
        method = output.method;
      }
      contentType = input.contentType;
      sessions += 1;
      state = 'streaming';
      logger.info({ ...fields, method, contentType, session: sessions }, 'bridge-connect');
      return { input, output: output.socket, method: output.method };
    } catch (error) {
      input.request.destroy();
      throw error;
    }
  };

  /**
   * A title read from the peer goes to Icecast's /admin/metadata. Each new connection
   * re-reads the current one from the peer's first block, so a restarted Icecast gets it
   * back. A failure is logged and the stream goes on.
   */
  const forwardTitle = (next: string): void => {
    title = next;
    titleUpdate = titleUpdate.then(async () => {
      try {
        const answer = await setIcecastTitle(to, next, connectTimeoutMs);
        if (answer.status === 200) {
          titlesForwarded += 1;
          logger.info({ ...fields, title: next }, 'bridge-title');
        } else {
          logger.warn(
            { ...fields, status: answer.status, answer: answer.body.slice(0, 200) },
            'bridge-title-fail',
          );
        }
      } catch (error) {
        logger.warn({ ...fields, code: systemCode(error) }, 'bridge-title-fail');
      }
    });
  };

  /** Streams until either side ends; resolves with the reason and the bytes pushed. */
  const pump = (session: Session): Promise<{ reason: string; bytes: number }> =>
    new Promise((resolve) => {
      const { input, output } = session;
      const stripper = input.metaint > 0 ? new IcyMetadataStripper(input.metaint) : null;
      let bytes = 0;
      let over = false;
      const finish = (reason: string) => {
        if (over) return;
        over = true;
        input.request.destroy();
        output.destroy();
        resolve({ reason, bytes });
      };
      input.request.setTimeout(idleTimeoutMs, () =>
        finish(`no data from the peer for ${idleTimeoutMs} ms`),
      );
      input.response.on('data', (data: Buffer) => {
        const { media: chunk, titles } = stripper?.push(data) ?? { media: data, titles: [] };
        for (const next of titles) forwardTitle(next);
        bytes += chunk.byteLength;
        bytesPushed += chunk.byteLength;
        // Icecast reads slower than the peer sends: wait for it (the peer drops a player
        // that falls too far behind, which ends this pair).
        if (!output.write(chunk)) {
          input.response.pause();
          output.once('drain', () => input.response.resume());
        }
      });
      input.response.on('end', () => finish('the peer ended the stream'));
      input.response.on('error', (error) =>
        finish(`peer connection failed (${systemCode(error)})`),
      );
      input.request.on('error', (error) => finish(`peer connection failed (${systemCode(error)})`));
      input.response.on('close', () => finish('the peer closed the connection'));
      output.on('error', (error) => finish(`Icecast connection failed (${systemCode(error)})`));
      output.on('close', () => finish('Icecast closed the connection'));
      if (stopped) finish('stopped');
    });

  const sleep = (ms: number): Promise<void> =>
    delay(ms, undefined, { signal: stopping.signal }).catch(() => {});

  const run = async (first: Session): Promise<void> => {
    let session: Session | null = first;
    let failures = 0;
    while (!stopped) {
      if (session !== null) {
        current = session;
        const outcome = await pump(session);
        current = null;
        if (stopped) break;
        if (outcome.bytes >= WORKING_BYTES) failures = 0;
        state = 'reconnecting';
        lastError = outcome.reason;
        logger.warn(
          { ...fields, reason: outcome.reason, bytes: outcome.bytes },
          'bridge-interrupt',
        );
        session = null;
      }
      const delayMs = reconnectDelay(failures, initialMs, maxMs, random);
      failures += 1;
      logger.warn({ ...fields, attempt: failures, delayMs }, 'bridge-reconnect');
      await sleep(delayMs);
      if (stopped) break;
      try {
        session = await open();
        if (stopped) {
          session.input.request.destroy();
          session.output.destroy();
        }
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        const code = error instanceof BridgeError ? error.code : systemCode(error);
        logger.warn({ ...fields, code, reason: lastError }, 'bridge-reconnect-fail');
      }
    }
    state = 'stopped';
    resolveDone('stopped');
  };

  const first = await open();
  void run(first);
  return {
    done,
    status: () => ({
      state,
      method,
      contentType,
      bytesPushed,
      sessions,
      lastError,
      title,
      titlesForwarded,
    }),
    async stop() {
      stopped = true;
      stopping.abort();
      if (current) {
        current.input.request.destroy();
        current.output.destroy();
      }
      await done;
    },
  };
}
