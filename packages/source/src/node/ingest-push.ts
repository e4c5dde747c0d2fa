import { createServer, isIP, type Server, type Socket } from 'node:net';
import { errorCode, explainListenError, listenTcp } from '@p2psp/host';
import { detectMediaType, type MediaKind } from '@p2psp/media';
import { SourceRuntimeError } from './errors.js';
import {
  admitMetadataUpdate,
  admitSourceRequest,
  ChunkedBodyDecoder,
  clusterStreamInfo,
  type IcecastStreamInfo,
  MAX_SOURCE_HEAD_BYTES,
  METADATA_PATH,
  metadataResponse,
  NO_STREAM_INFO,
  parseSourceRequestHead,
  SOURCE_CONTINUE_RESPONSE,
  SOURCE_OK_RESPONSE,
  type SourceBodyFraming,
  type SourceRequestHead,
  sourceErrorResponse,
} from './icecast-source-protocol.js';
import {
  type IngestHandlers,
  type IngestLogger,
  type OpenedIngest,
  silentIngestLogger,
} from './ingest.js';

/** Where `--listen-source [HOST:]PORT/MOUNT` listens. */
export interface ListenSource {
  readonly address: string;
  readonly port: number;
  /** `/live.mp3`. */
  readonly mount: string;
}

export interface PushIngestOptions {
  /** The password of user `source` (Basic auth), as in Icecast's `<source-password>`. */
  readonly password: string;
  readonly logger?: IngestLogger;
  /** A request head must arrive whole within this (default 10 s), else 408 and close. */
  readonly headTimeoutMs?: number;
  /** A streaming source client silent this long is dropped (default 10 s: Icecast's `<source-timeout>`). */
  readonly idleTimeoutMs?: number;
  /** The longest request head taken (default 8 KiB), else 431 and close. */
  readonly maxHeadBytes?: number;
  /** Connections open at once, streaming or not (default 16): a flood cannot exhaust the source. */
  readonly maxConnections?: number;
  /** Called once the port listens, with the bound port (0 picks a free one). */
  readonly onListen?: (endpoint: { readonly address: string; readonly port: number }) => void;
}

/** A push ingest: an `OpenedIngest` whose source clients come to it. */
export interface PushIngest extends OpenedIngest {
  readonly endpoint: { readonly address: string; readonly port: number };
  /** What the current (or last) source client announced in its `ice-*` headers. */
  streamInfo(): IcecastStreamInfo;
}

const LISTEN_SOURCE_FORM =
  'write [HOST:]PORT/MOUNT, e.g. 8000/live.mp3 or 127.0.0.1:8000/live.ogg (HOST an IP address of this machine)';

/** Parses `[HOST:]PORT/MOUNT`; the host, when given, must be an IP literal (no lookup). */
export function parseListenSource(text: string): ListenSource {
  const match = /^(?:(\[[^\]]+\]|[^/:[\]]+):)?(\d{1,5})(\/[^\s?#]*)$/.exec(text.trim());
  const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '0.0.0.0';
  const port = Number(match?.[2]);
  if (!match || isIP(host) === 0 || port > 65_535 || match[3]!.length < 2) {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      `--listen-source ${text}: ${LISTEN_SOURCE_FORM}`,
    );
  }
  return { address: host, port, mount: match[3]! };
}

/** Reads a body in its framing; `ended` once a framed body is complete. */
function bodyReader(
  framing: SourceBodyFraming,
): (bytes: Uint8Array) => { data: Uint8Array[]; ended: boolean } {
  if (framing.kind === 'chunked') {
    const decoder = new ChunkedBodyDecoder();
    return (bytes) => decoder.push(bytes);
  }
  if (framing.kind === 'length') {
    let remaining = framing.bytes;
    return (bytes) => {
      const take = bytes.subarray(0, remaining);
      remaining -= take.byteLength;
      return { data: [take], ended: remaining === 0 };
    };
  }
  return (bytes) => ({ data: [bytes], ended: false });
}

/** An admitted source client, streaming to the mount. */
interface Session {
  readonly socket: Socket;
  readonly remote: string;
  readonly contentType: string;
  bytes: number;
}

/**
 * Listens for Icecast source clients (ffmpeg `icecast://`, Liquidsoap `output.icecast`,
 * butt, Mixxx) on one mount, the way an Icecast 2.4 server takes them: PUT or legacy
 * SOURCE, Basic auth with user `source`, a Content-Type p2psp can carry. One client at a
 * time; a second one gets 403 "Mountpoint in use" while the first keeps streaming.
 *
 * Resolves once the first client has sent its first bytes (sniffing the media needs them).
 * When a client leaves, handlers hear `lost`; the next client's stream starts with
 * `restart` (a new Ogg stream brings its own header) and must carry the same media kind.
 */
export async function openPushIngest(
  listen: ListenSource,
  options: PushIngestOptions,
): Promise<PushIngest> {
  if (options.password === '') {
    throw new SourceRuntimeError(
      'P2PSP_ERR_BAD_OPTION',
      '--source-password is empty: give the password source clients will send (user source)',
    );
  }
  const logger = options.logger ?? silentIngestLogger;
  const headTimeoutMs = options.headTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const maxHeadBytes = options.maxHeadBytes ?? MAX_SOURCE_HEAD_BYTES;
  const description = `--listen-source ${listen.address}:${listen.port}${listen.mount}`;

  let handlers: IngestHandlers | null = null;
  /** Calls made before `pipe`, replayed in order by it. */
  const backlog: ((to: IngestHandlers) => void)[] = [];
  const toHandlers = (call: (to: IngestHandlers) => void): void => {
    if (handlers) call(handlers);
    else backlog.push(call);
  };
  /** Fixed by `pipe`: what the cluster carries, so every later client must send the same. */
  let stream: { readonly kind: MediaKind; readonly mimeType: string } | null = null;
  let active: Session | null = null;
  let info = NO_STREAM_INFO;
  let stopped = false;
  /** A client that streamed has left: the next stream starts anew. */
  let needsRestart = false;
  let first: { contentType: string; head: Uint8Array } | null = null;
  let resolveFirst!: (opened: { contentType: string; head: Uint8Array }) => void;
  const firstBytes = new Promise<{ contentType: string; head: Uint8Array }>((resolve) => {
    resolveFirst = resolve;
  });
  const sockets = new Set<Socket>();

  const checkContentType = (contentType: string): string | null => {
    const kind = detectMediaType({ contentType }).kind;
    if (stream === null) {
      if (kind !== 'unknown' || /^(audio|video)\//.test(contentType)) return null;
      return `Content-type ${contentType} not supported: p2psp carries audio and video streams (MP3, Ogg, WebM, AAC)`;
    }
    const same = stream.kind === 'unknown' ? contentType === stream.mimeType : kind === stream.kind;
    if (same) return null;
    return `Content-type ${contentType} not supported: this mount streams ${stream.mimeType}; restart p2psp source to change formats`;
  };

  const refuse = (socket: Socket, remote: string, status: number, message: string): void => {
    logger.warn({ input: description, remote, status, reason: message }, 'source-client-refused');
    socket.setTimeout(0);
    socket.end(sourceErrorResponse(status, message));
    // Read and drop what the client still sends, so the close is clean and it reads the
    // answer (unread bytes would make the kernel reset the connection); bounded in time.
    socket.resume();
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  const drop = (session: Session, reason: string): void => {
    if (active !== session) return;
    active = null;
    session.socket.destroy();
    logger.warn(
      { input: description, remote: session.remote, reason, bytes: session.bytes },
      'source-client-drop',
    );
    if (session.bytes === 0) return;
    needsRestart = true;
    toHandlers((to) => to.lost?.(`source client left: ${reason}`));
  };

  const deliver = (session: Session, bytes: Uint8Array): void => {
    if (bytes.byteLength === 0 || active !== session) return;
    if (session.bytes === 0 && first !== null && needsRestart) {
      needsRestart = false;
      toHandlers((to) => to.restart?.('source client reconnected'));
    }
    session.bytes += bytes.byteLength;
    if (first === null) {
      first = { contentType: session.contentType, head: bytes };
      resolveFirst(first);
    }
    if (handlers) {
      handlers.data(bytes);
      return;
    }
    backlog.push((to) => to.data(bytes));
    // Hold the rest in the socket (TCP pushes back) until `pipe`.
    session.socket.pause();
  };

  const admit = (
    socket: Socket,
    remote: string,
    method: string,
    admission: Extract<ReturnType<typeof admitSourceRequest>, { ok: true }>,
    rest: Uint8Array,
  ): void => {
    const session: Session = { socket, remote, contentType: admission.contentType, bytes: 0 };
    active = session;
    info = admission.info;
    toHandlers((to) => to.metadata?.({ info: clusterStreamInfo(info) }));
    if (admission.expectContinue) socket.write(SOURCE_CONTINUE_RESPONSE);
    socket.write(SOURCE_OK_RESPONSE);
    logger.info(
      { input: description, remote, method, contentType: admission.contentType, stream: info },
      'source-client-connect',
    );
    socket.setTimeout(idleTimeoutMs, () => drop(session, `no data for ${idleTimeoutMs} ms`));
    const read = bodyReader(admission.framing);
    const onBody = (bytes: Uint8Array): void => {
      let body: { data: Uint8Array[]; ended: boolean };
      try {
        body = read(bytes);
      } catch (error) {
        drop(session, `malformed chunked body (${errorCode(error)})`);
        return;
      }
      for (const data of body.data) deliver(session, data);
      if (body.ended) drop(session, 'request body complete');
    };
    socket.on('data', onBody);
    socket.on('end', () => drop(session, 'source client closed the connection'));
    socket.on('close', () => drop(session, 'connection closed'));
    socket.on('error', (error) => drop(session, errorCode(error)));
    if (rest.byteLength > 0) onBody(rest);
  };

  /** A title update, for the cluster's players (ICY `StreamTitle`). */
  const updateMetadata = (socket: Socket, remote: string, head: SourceRequestHead): void => {
    const update = admitMetadataUpdate(head, {
      mount: listen.mount,
      password: options.password,
      inUse: active !== null,
      checkContentType,
    });
    if (!update.ok) {
      refuse(socket, remote, update.status, update.message);
      return;
    }
    if (update.title !== null) {
      logger.info({ input: description, title: update.title }, 'ingest-title');
      const title = update.title;
      toHandlers((to) => to.metadata?.({ title }));
    }
    socket.setTimeout(0);
    socket.end(metadataResponse(update.known));
  };

  const accept = (socket: Socket): void => {
    if (stopped) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // 'close' follows; a session logs its own reason
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    let received = Buffer.alloc(0);
    socket.setTimeout(headTimeoutMs, () =>
      refuse(socket, remote, 408, `No complete request head within ${headTimeoutMs} ms`),
    );
    const onHead = (bytes: Buffer): void => {
      received = Buffer.concat([received, bytes]);
      const parsed = parseSourceRequestHead(received, maxHeadBytes);
      if (parsed.status === 'need-more') return;
      socket.off('data', onHead);
      if (parsed.status === 'too-large') {
        refuse(socket, remote, 431, `Request head over ${maxHeadBytes} bytes`);
      } else if (parsed.status === 'invalid') {
        refuse(socket, remote, 400, parsed.reason);
      } else if (parsed.head.method === 'GET' && parsed.head.path === METADATA_PATH) {
        updateMetadata(socket, remote, parsed.head);
      } else {
        const admission = admitSourceRequest(parsed.head, {
          mount: listen.mount,
          password: options.password,
          inUse: active !== null,
          checkContentType,
        });
        if (admission.ok) {
          admit(
            socket,
            remote,
            parsed.head.method,
            admission,
            received.subarray(parsed.bodyOffset),
          );
        } else {
          refuse(socket, remote, admission.status, admission.message);
        }
      }
    };
    socket.on('data', onHead);
  };

  const server: Server = createServer(accept);
  server.maxConnections = options.maxConnections ?? 16;
  await listenTcp(server, listen).catch((error: unknown) => {
    throw explainListenError(error, SourceRuntimeError, {
      inUse: `${description}: port ${listen.port} is already in use; stop the other program (an Icecast server?) or pick another port`,
      cannotListen: (code) =>
        `${description}: cannot listen there (${code}); use an address of this machine (or 0.0.0.0) and a port above 1023`,
    });
  });
  const bound = server.address() as { address: string; port: number };
  const endpoint = { address: bound.address, port: bound.port };
  logger.info({ input: description, ...endpoint, mount: listen.mount }, 'source-listen');
  options.onListen?.(endpoint);

  const opened = await firstBytes;
  return {
    description,
    contentType: opened.contentType,
    fileName: listen.mount.slice(1),
    head: opened.head,
    endpoint,
    streamInfo: () => info,
    pipe(to: IngestHandlers, mediaType: string): void {
      stream = { kind: detectMediaType({ contentType: mediaType }).kind, mimeType: mediaType };
      handlers = to;
      for (const call of backlog.splice(0)) call(to);
      active?.socket.resume();
    },
    stop(): void {
      stopped = true;
      handlers = null;
      active = null;
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
