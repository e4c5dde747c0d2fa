import { get, request } from 'node:http';
import { sleep } from './loopback.mjs';

// The loopback helpers the bench shares (plain JavaScript, see loopback.mjs).
export * from './loopback.mjs';

/** An HTTP player: reads a peer's stream into memory. */
export function openPlayer(url: string) {
  const received: Buffer[] = [];
  let receivedBytes = 0;
  const state = { status: 0, contentType: '', ended: false, error: '' };
  const client = request(url, (response) => {
    state.status = response.statusCode ?? 0;
    state.contentType = String(response.headers['content-type']);
    response.on('data', (bytes: Buffer) => {
      received.push(bytes);
      receivedBytes += bytes.byteLength;
    });
    response.on('end', () => {
      state.ended = true;
    });
    response.on('error', (error) => {
      state.error = error.message;
      state.ended = true;
    });
  });
  client.on('error', (error) => {
    state.error = error.message;
    state.ended = true;
  });
  client.end();
  return {
    state,
    get receivedBytes() {
      return receivedBytes;
    },
    bytes: () => Buffer.concat(received),
    close: () => client.destroy(),
  };
}

/**
 * Walks Ogg pages from the first byte (RFC 3533 section 6: 'OggS', version 0, 27-byte header,
 * segment table): returns how many whole pages follow each other with no gap or junk, and
 * how many of the first ones are beginning-of-stream pages. Throws at the first bad page.
 */
export function walkOggPages(bytes: Uint8Array): { pages: number; beginningPages: number } {
  let offset = 0;
  let pages = 0;
  let beginningPages = 0;
  while (offset + 27 <= bytes.byteLength) {
    const magic = Buffer.from(bytes.subarray(offset, offset + 4)).toString('latin1');
    if (magic !== 'OggS' || bytes[offset + 4] !== 0) {
      throw new Error(`no Ogg page at byte ${offset} (page ${pages})`);
    }
    const segments = bytes[offset + 26]!;
    if (offset + 27 + segments > bytes.byteLength) break;
    let length = 27 + segments;
    for (let index = 0; index < segments; index += 1) length += bytes[offset + 27 + index]!;
    if (offset + length > bytes.byteLength) break;
    if ((bytes[offset + 5]! & 0x02) !== 0 && pages === beginningPages) beginningPages += 1;
    offset += length;
    pages += 1;
  }
  return { pages, beginningPages };
}

const MPEG1_LAYER3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MPEG1_SAMPLE_RATES = [44_100, 48_000, 32_000];

/**
 * The length of the MPEG-1 Layer III frame at `offset` (ISO 11172-3 2.4.2.3: 11-bit sync,
 * length 144 x bitrate / sample rate + padding), or 0 where no frame header stands.
 */
export function mp3FrameLength(bytes: Uint8Array, offset: number): number {
  if (offset + 4 > bytes.byteLength) return 0;
  const [b0, b1, b2] = [bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!];
  const kbps = MPEG1_LAYER3_KBPS[b2 >> 4];
  const sampleRate = MPEG1_SAMPLE_RATES[(b2 >> 2) & 0x03];
  // 0xFFFA/0xFFFB: sync, MPEG-1, Layer III.
  if (b0 !== 0xff || (b1 & 0xfe) !== 0xfa || !kbps || !sampleRate) return 0;
  return Math.floor((144_000 * kbps) / sampleRate) + ((b2 >> 1) & 0x01);
}

/**
 * Walks MPEG-1 Layer III frames from the first byte: returns how many whole frames follow
 * each other with no gap or junk. Throws at the first byte that is not a frame header.
 */
export function walkMp3Frames(bytes: Uint8Array): number {
  let offset = 0;
  let frames = 0;
  while (offset + 4 <= bytes.byteLength) {
    const length = mp3FrameLength(bytes, offset);
    if (length === 0) throw new Error(`no MP3 frame at byte ${offset} (frame ${frames})`);
    if (offset + length > bytes.byteLength) break;
    offset += length;
    frames += 1;
  }
  return frames;
}

/** GETs `url` and parses its body as JSON (bounded: 5 s without an answer fails). */
export function getJson(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const client = request(url, (response) => {
      let body = '';
      response.on('data', (bytes: Buffer) => {
        body += bytes.toString();
      });
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (error) {
          reject(error);
        }
      });
    });
    client.setTimeout(5000, () => client.destroy(new Error(`GET ${url} timed out`)));
    client.on('error', reject);
    client.end();
  });
}

/**
 * Reads `read()` every `intervalMs` until `ready` holds or `limitMs` passes; returns the last
 * value read, for the caller to assert on (a bound, not an assertion on time).
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  ready: (value: T) => boolean,
  limitMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = performance.now() + limitMs;
  let value = await read();
  while (!ready(value) && performance.now() < deadline) {
    await sleep(intervalMs);
    value = await read();
  }
  return value;
}

/** GETs `url` with Node's fetch and parses its JSON body as `T`. */
export async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

/** Polls an async `condition` every 200 ms; throws naming `what` after `limitMs`. */
export async function waitFor(
  condition: () => Promise<boolean>,
  limitMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * A player that notes when each piece arrived: `arrivedAt(offset)` and the longest silence
 * in a window, in ms (performance.now()).
 */
export function timedPlayer(url: string) {
  const pieces: { at: number; end: number; bytes: Buffer }[] = [];
  let received = 0;
  let ended = false;
  const client = get(url, (response) => {
    response.on('data', (bytes: Buffer) => {
      received += bytes.byteLength;
      pieces.push({ at: performance.now(), end: received, bytes });
    });
    response.on('end', () => {
      ended = true;
    });
  });
  client.on('error', () => {
    ended = true;
  });
  return {
    get ended() {
      return ended;
    },
    bytes: () => Buffer.concat(pieces.map((piece) => piece.bytes)),
    arrivedAt: (offset: number) => pieces.find((piece) => piece.end > offset)?.at,
    /** The longest time without a byte within [from, to]. */
    longestGap(from: number, to: number): number {
      const times = pieces.map((piece) => piece.at).filter((at) => at >= from && at <= to);
      let longest = 0;
      for (let index = 1; index < times.length; index++) {
        longest = Math.max(longest, times[index]! - times[index - 1]!);
      }
      return longest;
    },
    close: () => client.destroy(),
  };
}
