import http from 'node:http';
import https from 'node:https';
import { errorCode } from '@p2psp/host';
import { SourceRuntimeError } from './errors.js';
import { IcyMetadataStripper, icyStreamInfo } from './icy-metadata.js';
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
  /** ...up to this (default 30 s). */
  readonly reconnectMaxMs?: number;
  /** No byte for this long counts as a failure and reconnects (default 15 s). */
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

function checkMedia(url: URL, response: http.IncomingMessage): void {
  const contentType = response.headers['content-type'] ?? '';
  if (NOT_MEDIA.test(contentType)) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_INGEST_NOT_MEDIA',
      `--input ${redacted(url)} serves ${contentType}, not an audio/video stream: point --input at the stream mount itself (e.g. http://host:8000/stream.ogg)`,
    );
  }
}

/**
 * Opens an Icecast/SHOUTcast-compatible HTTP(S) stream. The first connection must work
 * (errors name the problem and the fix: 404, not media, unreachable); after that, a close
 * or failure reconnects with exponential backoff and logs each attempt, because a live
 * ingest that blips should not end the cluster's stream.
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
    pipe(handlers: IngestHandlers): void {
      let failures = 0;
      const initialDelay = options.reconnectInitialMs ?? 500;
      const maxDelay = options.reconnectMaxMs ?? 30_000;
      const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;

      const stream = (connected: Connected, pending: Buffer | null): void => {
        current = connected;
        const { response, request } = connected;
        const interval = metaInterval(response);
        const stripper = interval > 0 ? new IcyMetadataStripper(interval) : null;
        handlers.metadata?.({ info: icyStreamInfo(response.headers) });
        let streamedBytes = 0;
        const deliver = (bytes: Buffer) => {
          if (stopped) return;
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
        request.setTimeout(idleTimeoutMs, () => {
          request.destroy(new Error(`no data for ${idleTimeoutMs} ms`));
        });
        if (pending) deliver(pending);
        let over = false;
        const onOver = (why: string) => {
          if (over || stopped) return;
          over = true;
          request.destroy();
          handlers.lost?.(why);
          scheduleReconnect(why);
        };
        response.on('data', deliver);
        response.on('end', () => onOver('server closed the stream'));
        response.on('close', () => onOver('connection closed'));
        response.on('error', (error) => onOver(errorCode(error)));
        request.on('error', (error) => onOver(errorCode(error)));
        // A short response may have ended while we sniffed its first bytes.
        if (response.readableEnded || response.destroyed) onOver('server closed the stream');
        else response.resume();
      };

      const scheduleReconnect = (why: string): void => {
        if (stopped) return;
        const delay = Math.min(maxDelay, initialDelay * 2 ** failures);
        failures += 1;
        logger.warn(
          { input: redacted(url), reason: why, attempt: failures, delayMs: delay },
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
              logger.info({ input: redacted(url), attempt: failures }, 'ingest-reconnect-done');
              // A new connection starts a new stream (new Ogg serial numbers and header
              // pages, or an MP3 frame cut anywhere): the core captures its header again.
              // The dead connection's unfinished last frame was dropped at `lost`
              // (fallback.ts cuts a live input at whole frames).
              handlers.restart?.('ingest reconnected');
              stream(connected, null);
            },
            (error: unknown) => scheduleReconnect(errorCode(error)),
          );
        }, delay);
      };

      stream(first, head);
    },
    stop(): void {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      current?.request.destroy();
      current = null;
    },
  };
}
