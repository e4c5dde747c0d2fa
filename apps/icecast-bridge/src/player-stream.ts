import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { detectMediaType } from '@p2psp/media';
import { BridgeError, systemCode } from './errors.js';
import type { IcecastStreamDetails } from './icecast-source-client.js';
import { redactUrl } from './urls.js';

/** A peer's player stream, answered 200 with a media type, not yet read. */
export interface PlayerStream {
  readonly request: ClientRequest;
  readonly response: IncomingMessage;
  /** The stream's Content-Type, as the peer announced it (parameters dropped). */
  readonly contentType: string;
  /** `icy-metaint`: stream bytes between ICY metadata blocks, 0 when none are interleaved. */
  readonly metaint: number;
  /** What the peer says of the station (`icy-name`, `icy-description`, `icy-genre`, `icy-url`). */
  readonly station: IcecastStreamDetails;
}

/** The station's `icy-*` headers, as sent: UTF-8 bytes, which Node reads as Latin-1. */
function stationOf(response: IncomingMessage): IcecastStreamDetails {
  const station: Record<string, string> = {};
  for (const field of ['name', 'description', 'genre', 'url'] as const) {
    const value = response.headers[`icy-${field}`];
    const text = typeof value === 'string' ? Buffer.from(value, 'latin1').toString('utf8') : '';
    if (text.trim() !== '') station[field] = text.trim();
  }
  return station;
}

/**
 * Opens a player connection to a peer (any Icecast-like URL works), with ICY metadata. The peer starts each
 * player with the stream header and at a sync point, so every connection is a stream an
 * Icecast mount can start with.
 */
export function openPlayerStream(url: URL, timeoutMs: number): Promise<PlayerStream> {
  const where = `--from ${redactUrl(url.href)}`;
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(
      url,
      // ICY metadata asked for: the titles go on to Icecast (a p2psp peer interleaves them).
      { headers: { 'User-Agent': 'p2psp-icecast-bridge', 'Icy-MetaData': '1' } },
      (response) => {
        request.setTimeout(0);
        const status = response.statusCode ?? 0;
        const contentType = (response.headers['content-type'] ?? '').split(';')[0]!.trim();
        const fail = (error: BridgeError) => {
          request.destroy();
          reject(error);
        };
        if (status !== 200) {
          return fail(
            new BridgeError(
              'P2PSP_ERR_BRIDGE_INPUT_STATUS',
              `${where} answered HTTP ${status} ${response.statusMessage ?? ''}: give the peer's player URL (p2psp peer prints it: play: http://...)`,
              { details: { status } },
            ),
          );
        }
        const media =
          detectMediaType({ contentType }).kind !== 'unknown' ||
          /^(audio|video)\//i.test(contentType);
        if (!media) {
          return fail(
            new BridgeError(
              'P2PSP_ERR_BRIDGE_INPUT_NOT_MEDIA',
              `${where} serves ${contentType || 'no Content-Type'}, not an audio or video stream: give the peer's player URL`,
            ),
          );
        }
        const metaint = Number(response.headers['icy-metaint'] ?? 0);
        resolve({
          request,
          response,
          contentType,
          metaint: Number.isSafeInteger(metaint) && metaint > 0 ? metaint : 0,
          station: stationOf(response),
        });
      },
    );
    request.setTimeout(timeoutMs, () => {
      request.destroy(
        new BridgeError(
          'P2PSP_ERR_BRIDGE_INPUT_UNREACHABLE',
          `${where}: no answer within ${timeoutMs} ms; check that the peer runs and streams`,
        ),
      );
    });
    request.on('error', (error) => {
      if (error instanceof BridgeError) return reject(error);
      reject(
        new BridgeError(
          'P2PSP_ERR_BRIDGE_INPUT_UNREACHABLE',
          `${where} is unreachable (${systemCode(error)}): check that the peer runs and its --player-port`,
          { cause: error },
        ),
      );
    });
  });
}
