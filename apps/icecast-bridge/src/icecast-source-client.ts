import { get as httpGet } from 'node:http';
import { connect, type Socket } from 'node:net';
import { BridgeError, systemCode } from './errors.js';
import { describeTarget, type IcecastTarget } from './urls.js';

/** What the bridge announces about the stream: Icecast's `ice-*` source headers. */
export interface IcecastStreamDetails {
  readonly name?: string;
  readonly description?: string;
  readonly genre?: string;
  readonly url?: string;
  /** List the mount in directories (`ice-public: 1`). Default false. */
  readonly public?: boolean;
}

export type SourceMethod = 'PUT' | 'SOURCE';

/** Statuses an Icecast older than 2.4 gives a PUT it does not know ("unknown request"). */
const PUT_NOT_KNOWN = new Set([400, 405, 501]);
/** Icecast answers a source in one 4 KiB buffer (PER_CLIENT_REFBUF_SIZE). */
const MAX_ANSWER_BYTES = 8192;

interface Answer {
  readonly status: number;
  readonly body: string;
}

function requestHead(
  target: IcecastTarget,
  method: SourceMethod,
  contentType: string,
  details: IcecastStreamDetails,
): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const credentials = Buffer.from(`${target.user}:${target.password}`).toString('base64');
  // Header values are one line: drop CR and LF a caller may have let through.
  const line = (text: string) => text.replace(/[\r\n]+/g, ' ');
  const optional = (name: string, value: string | undefined) =>
    value === undefined ? [] : [`${name}: ${line(value)}`];
  return [
    `${method} ${target.mount} HTTP/1.1`,
    `Host: ${host}:${target.port}`,
    `Authorization: Basic ${credentials}`,
    'User-Agent: p2psp-icecast-bridge',
    `Content-Type: ${line(contentType)}`,
    `Ice-Public: ${details.public ? 1 : 0}`,
    ...optional('Ice-Name', details.name),
    ...optional('Ice-Description', details.description),
    ...optional('Ice-Genre', details.genre),
    ...optional('Ice-Url', details.url),
    // RFC 9110 section 10.1.1: wait for Icecast's go-ahead (it refuses before reading).
    ...(method === 'PUT' ? ['Expect: 100-continue'] : []),
    '',
    '',
  ].join('\r\n');
}

/**
 * Reads Icecast's first answer: `100 Continue` or `200 OK` (go ahead), or an error status
 * with its text body (read until Icecast closes, bounded). Null when the connection
 * closed with no answer at all.
 */
function readAnswer(socket: Socket, timeoutMs: number, where: string): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let status = 0;
    let bodyStart = -1;
    const timer = setTimeout(() => {
      if (status > 0) return finish({ status, body: bodyText() });
      done();
      reject(
        new BridgeError(
          'P2PSP_ERR_ICECAST_UNREACHABLE',
          `${where}: no answer within ${timeoutMs} ms; is it an Icecast server?`,
        ),
      );
    }, timeoutMs);
    const bodyText = () =>
      bodyStart < 0 ? '' : received.subarray(bodyStart).toString('utf8').trim();
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const finish = (answer: Answer | null) => {
      done();
      resolve(answer);
    };
    const onData = (bytes: Buffer) => {
      received = Buffer.concat([received, bytes]).subarray(0, MAX_ANSWER_BYTES);
      if (status === 0) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) {
          if (received.byteLength >= MAX_ANSWER_BYTES)
            finish({ status: 0, body: 'oversize answer' });
          return;
        }
        const statusLine = /^(?:HTTP|ICE)\/\d\.\d (\d{3})/.exec(received.toString('latin1'));
        status = Number(statusLine?.[1] ?? 0);
        bodyStart = end + 4;
        if (status === 100 || status === 200 || status === 0) return finish({ status, body: '' });
      }
      if (received.byteLength >= MAX_ANSWER_BYTES) finish({ status, body: bodyText() });
    };
    const onClose = () => finish(status > 0 ? { status, body: bodyText() } : null);
    const onError = () => {}; // 'close' follows
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

function connectTo(target: IcecastTarget, timeoutMs: number, where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new BridgeError(
          'P2PSP_ERR_ICECAST_UNREACHABLE',
          `${where}: no connection within ${timeoutMs} ms; check the host and port`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(
        new BridgeError(
          'P2PSP_ERR_ICECAST_UNREACHABLE',
          `${where} is unreachable (${systemCode(error)}): check the host and port, and that Icecast runs`,
          { cause: error },
        ),
      );
    };
    socket.once('error', onError);
  });
}

/** Turns an error answer into the error that names it. */
function refusal(answer: Answer, where: string): BridgeError {
  const details = { status: answer.status, answer: answer.body };
  const said = answer.body === '' ? '' : ` "${answer.body.slice(0, 200)}"`;
  if (answer.status === 0) {
    return new BridgeError(
      'P2PSP_ERR_ICECAST_REFUSED',
      `${where}: the answer is not HTTP; is it an Icecast server?`,
      { details },
    );
  }
  if (answer.status === 401) {
    return new BridgeError(
      'P2PSP_ERR_ICECAST_AUTH',
      `${where}: Icecast refused the source password (401): check the password in --to (Icecast's <source-password>, user source)`,
      { details },
    );
  }
  if (answer.status === 403 && /mountpoint in use/i.test(answer.body)) {
    return new BridgeError(
      'P2PSP_ERR_ICECAST_MOUNT_IN_USE',
      `${where}: the mount is in use by another source client (403 Mountpoint in use): stop that client or push to another mount`,
      { details },
    );
  }
  return new BridgeError(
    'P2PSP_ERR_ICECAST_REFUSED',
    `${where}: Icecast refused the source with HTTP ${answer.status}${said}`,
    { details },
  );
}

/** One attempt with one method: the socket to stream into, or why not. */
async function attempt(
  target: IcecastTarget,
  method: SourceMethod,
  contentType: string,
  details: IcecastStreamDetails,
  timeoutMs: number,
): Promise<{ socket: Socket } | { answer: Answer | null }> {
  const where = describeTarget(target);
  const socket = await connectTo(target, timeoutMs, where);
  socket.write(requestHead(target, method, contentType, details));
  let answer: Answer | null;
  try {
    answer = await readAnswer(socket, timeoutMs, where);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  if (answer !== null && (answer.status === 100 || answer.status === 200)) {
    // Icecast may answer `200 OK` after `100 Continue`, and nothing else: drop what it sends.
    socket.on('data', () => {});
    return { socket };
  }
  socket.destroy();
  return { answer };
}

/**
 * Connects to an Icecast mount as a source client. PUT first (Icecast >= 2.4); when the
 * server does not know PUT (an older Icecast answers 400 "unknown request", or closes), the
 * legacy SOURCE method. Resolves with the socket to write the stream into and the method
 * that worked; rejects with a `BridgeError` naming the refusal (401, 403 mount in use...).
 */
export async function openIcecastMount(
  target: IcecastTarget,
  contentType: string,
  options: {
    readonly details?: IcecastStreamDetails;
    /** Start with this method (the one that worked last time). Default PUT. */
    readonly method?: SourceMethod;
    readonly timeoutMs?: number;
  } = {},
): Promise<{ readonly socket: Socket; readonly method: SourceMethod }> {
  const details = options.details ?? {};
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = describeTarget(target);
  const first = options.method ?? 'PUT';
  const tried = await attempt(target, first, contentType, details, timeoutMs);
  if ('socket' in tried) return { socket: tried.socket, method: first };
  const putUnknown = tried.answer === null || PUT_NOT_KNOWN.has(tried.answer.status);
  if (first === 'PUT' && putUnknown) {
    const legacy = await attempt(target, 'SOURCE', contentType, details, timeoutMs);
    if ('socket' in legacy) return { socket: legacy.socket, method: 'SOURCE' };
    if (legacy.answer !== null) throw refusal(legacy.answer, where);
  }
  if (tried.answer !== null) throw refusal(tried.answer, where);
  throw new BridgeError(
    'P2PSP_ERR_ICECAST_REFUSED',
    `${where}: the server closed the connection without an answer; is it an Icecast server?`,
  );
}

/**
 * Sets the mount's title as a source client does (Icecast 2.4 src/admin.c,
 * command_metadata): `GET /admin/metadata?mount=/m&mode=updinfo&song=TITLE` with the source
 * credentials. Icecast shows it in its status pages and sends it to its own listeners as
 * ICY metadata. Resolves with Icecast's status; an Ogg mount takes titles only from the
 * stream itself and answers with an error, which the caller logs.
 */
export function setIcecastTitle(
  target: IcecastTarget,
  title: string,
  timeoutMs: number,
): Promise<{ readonly status: number; readonly body: string }> {
  const query = new URLSearchParams({ mount: target.mount, mode: 'updinfo', song: title });
  const credentials = Buffer.from(`${target.user}:${target.password}`).toString('base64');
  return new Promise((resolve, reject) => {
    const request = httpGet(
      {
        host: target.host,
        port: target.port,
        path: `/admin/metadata?${query}`,
        headers: {
          Authorization: `Basic ${credentials}`,
          'User-Agent': 'p2psp-icecast-bridge',
        },
        timeout: timeoutMs,
      },
      (response) => {
        const body: Buffer[] = [];
        response.on('data', (bytes: Buffer) => body.push(bytes));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(body).toString('utf8').slice(0, MAX_ANSWER_BYTES),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
