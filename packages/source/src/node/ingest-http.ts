import http from 'node:http';
import https from 'node:https';
import { errorCode } from '@p2psp/host';
import { detectMediaType, IcyMetadataStripper } from '@p2psp/media';
import { reconnectDelay } from '@p2psp/wire';
import { SourceRuntimeError, type SourceRuntimeErrorCode } from './errors.js';
import { icyStreamInfo } from './icy-metadata.js';
import {
  firstBytes,
  type IngestHandlers,
  type IngestLogger,
  type OpenedIngest,
  silentIngestLogger,
} from './ingest.js';

export interface HttpIngestOptions {
  /** Ask the server for ICY metadata (the titles go to `metadata`, stripped from the stream). */
  readonly icyMetadata?: boolean;
  readonly logger?: IngestLogger;
  /** First reconnect delay (default 500 ms), doubled after each failure... */
  readonly reconnectInitialMs?: number;
  /**
   * ...up to this (default 4 s), half of each delay random: the fallback fills the gap, and
   * the stream should be back within seconds of the server.
   */
  readonly reconnectMaxMs?: number;
  /** Uniform in [0, 1), for the reconnect jitter; default Math.random. */
  readonly random?: () => number;
  /**
   * No byte for this long ends the connection and reconnects (default 15 s). Players hear
   * the fallback long before: it starts after a shorter stall (fallback.ts).
   */
  readonly idleTimeoutMs?: number;
  /** Give up after this long without a first byte on the first connection (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** Content types that are pages or documents, never a media stream. */
const NOT_MEDIA = /^(text\/|application\/(json|xml|xhtml\+xml|javascript)|image\/)/i;

function redacted(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

interface Connected {
  readonly response: http.IncomingMessage;
  readonly request: http.ClientRequest;
}

function connect(url: URL, options: HttpIngestOptions, redirects = 0): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(
      url,
      {
        headers: {
          // ICY (SHOUTcast/Icecast): no metadata interleaved unless asked for.
          'Icy-MetaData': options.icyMetadata ? '1' : '0',
          'User-Agent': 'p2psp-source',
          Accept: '*/*',
        },
        timeout: options.connectTimeoutMs ?? 10_000,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location && redirects < 5) {
          response.resume();
          request.destroy();
          connect(new URL(location, url), options, redirects + 1).then(resolve, reject);
          return;
        }
        if (status !== 200) {
          response.resume();
          request.destroy();
          const fix =
            status === 404
              ? 'check the mount name in the URL (e.g. http://host:8000/stream.ogg)'
              : status === 401 || status === 403
                ? 'the server refuses access: check credentials in the URL'
                : 'check that the URL points at a live stream';
          reject(
            new SourceRuntimeError(
              'P2PSP_ERR_INGEST_HTTP_STATUS',
              `--input ${redacted(url)} answered HTTP ${status} ${response.statusMessage ?? ''}: ${fix}`,
            ),
          );
          return;
        }
        resolve({ response, request });
      },
    );
    request.on('timeout', () => {
      request.destroy(
        new SourceRuntimeError(
          'P2PSP_ERR_INGEST_UNREACHABLE',
          `--input ${redacted(url)}: no answer within ${options.connectTimeoutMs ?? 10_000} ms; check the host and port`,
        ),
      );
    });
    request.on('error', (error) => {
      if (error instanceof SourceRuntimeError) return reject(error);
      const code = errorCode(error);
      if (code === 'ECONNREFUSED') {
        return reject(
          new SourceRuntimeError(
            'P2PSP_ERR_INGEST_REFUSED',
            `--input ${redacted(url)} refused the connection (${code}): check the port, and that the stream server runs`,
            { cause: error },
          ),
        );
      }
      reject(
        new SourceRuntimeError(
          'P2PSP_ERR_INGEST_UNREACHABLE',
          `--input ${redacted(url)} is unreachable (${code}): check the host name and port, and that the stream server runs`,
          { cause: error },
        ),
      );
    });
  });
}

/**
 * Refuses an answer that is not media (an error page, a login page), on every connection;
 * after the first, also media of another kind than the stream's (`mediaType`): the cluster
 * cannot change formats under its players.
 */
function checkMedia(url: URL, response: http.IncomingMessage, mediaType?: string): void {
  const contentType = response.headers['content-type'] ?? '';
  if (NOT_MEDIA.test(contentType)) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_INGEST_NOT_MEDIA',
      `--input ${redacted(url)} serves ${contentType}, not an audio/video stream: point --input at the stream mount itself (e.g. http://host:8000/stream.ogg)`,
    );
  }
  if (mediaType === undefined) return;
  const kind = detectMediaType({ contentType }).kind;
  if (kind !== 'unknown' && kind !== detectMediaType({ contentType: mediaType }).kind) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_INGEST_NOT_MEDIA',
      `--input ${redacted(url)} now serves ${contentType}, but this stream is ${mediaType}: restart p2psp source to change formats`,
    );
  }
}

/** Why a connection ended or a reconnect failed: its code, and what happened. */
interface Fault {
  readonly code: SourceRuntimeErrorCode;
  readonly reason: string;
}

function faultOf(error: unknown): Fault {
  if (error instanceof SourceRuntimeError) return { code: error.code, reason: error.message };
  return { code: 'P2PSP_ERR_INGEST_UNREACHABLE', reason: errorCode(error) };
}

/**
 * Opens an Icecast/SHOUTcast-compatible HTTP(S) stream. The first connection must work
 * (errors name the problem and the fix: 404, not media, refused, unreachable); after that,
 * a close, a failure or a connection idle for `idleTimeoutMs` reconnects with a jittered,
 * capped backoff, and each attempt is logged with the code of what happened, because a
 * live ingest that blips should not end the cluster's stream. Every reconnect's answer is
 * checked as the first was (status, not media, another format).
 */
export async function openHttpIngest(
  input: string,
  options: HttpIngestOptions = {},
): Promise<OpenedIngest> {
  const url = new URL(input);
  const logger = options.logger ?? silentIngestLogger;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const first = await connect(url, options);
  try {
    checkMedia(url, first.response);
  } catch (error) {
    first.request.destroy();
    throw error;
  }
  let head: Buffer;
  try {
    head = await firstBytes(first.response, connectTimeoutMs, {
      silent: `--input ${redacted(url)} sent no stream bytes within ${connectTimeoutMs} ms: check that the mount has a live source`,
      ended: `--input ${redacted(url)} ended before sending any stream bytes: check that the mount has a live source`,
    });
  } catch (error) {
    first.request.destroy();
    throw error;
  }
  const contentType = first.response.headers['content-type']?.split(';')[0]?.trim() ?? null;
  const fileName = url.pathname.split('/').at(-1) || null;
  let stopped = false;
  let current: Connected | null = first;
  let retryTimer: NodeJS.Timeout | null = null;

  const metaInterval = (response: http.IncomingMessage): number => {
    const value = Number(response.headers['icy-metaint'] ?? 0);
    return options.icyMetadata && Number.isInteger(value) && value > 0 ? value : 0;
  };

  return {
    description: redacted(url),
    contentType,
    fileName,
    // Sniff the media, not the metadata blocks interleaved in it.
    head:
      metaInterval(first.response) > 0
        ? new IcyMetadataStripper(metaInterval(first.response)).push(head).media
        : head,
    pipe(handlers: IngestHandlers, mediaType: string): void {
      let failures = 0;
      const initialDelay = options.reconnectInitialMs ?? 500;
      const maxDelay = options.reconnectMaxMs ?? 4000;
      const random = options.random ?? Math.random;
      const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;

      /** `restart` set for a reconnection: its first bytes start a new stream. */
      const stream = (connected: Connected, pending: Buffer | null, restart: boolean): void => {
        current = connected;
        const { response, request } = connected;
        const interval = metaInterval(response);
        const stripper = interval > 0 ? new IcyMetadataStripper(interval) : null;
        handlers.metadata?.({ info: icyStreamInfo(response.headers) });
        let streamedBytes = 0;
        const deliver = (bytes: Buffer) => {
          if (stopped) return;
          // A new connection starts a new stream (new Ogg serial numbers and header pages,
          // or an MP3 frame cut anywhere): the core captures its header again. Only once
          // bytes come: an answer that ends or stalls at once leaves the fallback playing.
          // The dead connection's unfinished last frame was dropped at `lost` (fallback.ts
          // cuts a live input at whole frames).
          if (streamedBytes === 0 && restart) handlers.restart?.('ingest reconnected');
          streamedBytes += bytes.byteLength;
          if (streamedBytes > 64 * 1024) failures = 0; // it works again: reset the backoff
          if (!stripper) return handlers.data(bytes);
          const { media, titles } = stripper.push(bytes);
          for (const title of titles) {
            logger.info({ title }, 'ingest-title');
            handlers.metadata?.({ title });
          }
          if (media.byteLength > 0) handlers.data(media);
        };
        let over = false;
        const onOver = (fault: Fault) => {
          if (over || stopped) return;
          over = true;
          request.destroy();
          handlers.lost?.(fault.reason);
          scheduleReconnect(fault);
        };
        const closed = (why: string): Fault => ({
          code: 'P2PSP_ERR_INGEST_CLOSED',
          reason: `--input ${redacted(url)}: ${why}`,
        });
        request.setTimeout(idleTimeoutMs, () =>
          onOver({
            code: 'P2PSP_ERR_INGEST_STALLED',
            reason: `--input ${redacted(url)} sent no bytes for ${idleTimeoutMs} ms`,
          }),
        );
        if (pending) deliver(pending);
        response.on('data', deliver);
        response.on('end', () => onOver(closed('the server closed the stream')));
        response.on('close', () => onOver(closed('the connection closed')));
        response.on('error', (error) =>
          onOver(closed(`the connection failed (${errorCode(error)})`)),
        );
        request.on('error', (error) =>
          onOver(closed(`the connection failed (${errorCode(error)})`)),
        );
        // A short response may have ended while we sniffed its first bytes.
        if (response.readableEnded || response.destroyed) {
          onOver(closed('the server closed the stream'));
        } else response.resume();
      };

      const scheduleReconnect = (fault: Fault): void => {
        if (stopped) return;
        const delay = reconnectDelay(failures, initialDelay, maxDelay, random);
        failures += 1;
        logger.warn(
          {
            input: redacted(url),
            code: fault.code,
            reason: fault.reason,
            attempt: failures,
            delayMs: delay,
          },
          'ingest-reconnect',
        );
        retryTimer = setTimeout(() => {
          retryTimer = null;
          if (stopped) return;
          connect(url, options).then(
            (connected) => {
              if (stopped) {
                connected.request.destroy();
                return;
              }
              try {
                checkMedia(url, connected.response, mediaType);
              } catch (error) {
                connected.request.destroy();
                scheduleReconnect(faultOf(error));
                return;
              }
              logger.info({ input: redacted(url), attempt: failures }, 'ingest-reconnect-done');
              stream(connected, null, true);
            },
            (error: unknown) => scheduleReconnect(faultOf(error)),
          );
        }, delay);
      };

      stream(first, head, false);
    },
    stop(): void {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      current?.request.destroy();
      current = null;
    },
  };
}
