import type { Member, SourceCluster } from '@p2psp/cluster';
import {
  encodeDatagram,
  type Instant,
  MAX_STREAM_INFO_TEXT_BYTES,
  MAX_STREAM_TITLE_BYTES,
  type MemberId,
  type StreamInfo,
  UNKNOWN_STREAM_INFO,
} from '@p2psp/wire';
import type { Chunker } from './chunker.js';
import type { Membership } from './membership.js';
import type { SourceContext } from './source-context.js';

/**
 * Copies of each stream-metadata a member gets, one a second: a single lost datagram would
 * leave a member on the old title until the next change (minutes), and three independent
 * copies make that p^3 (1e-6 at 1% loss), as for goodbyes. Only changes and joins send:
 * nothing is repeated while the title stays, so the cost does not grow with time.
 */
export const STREAM_METADATA_COPIES = 3;
export const STREAM_METADATA_REPEAT_MILLIS = 1_000;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * `text` cut to at most `maxBytes` of UTF-8 on a character boundary. The round trip also
 * turns a lone surrogate into U+FFFD (WHATWG Encoding: UTF-8 encode), which the wire refuses.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = utf8Encoder.encode(text);
  let end = Math.min(maxBytes, bytes.length);
  // Back off continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return utf8Decoder.decode(bytes.subarray(0, end));
}

function boundedInfo(info: StreamInfo): StreamInfo {
  const text = (value: string) => truncateUtf8(value, MAX_STREAM_INFO_TEXT_BYTES);
  return {
    name: text(info.name),
    description: text(info.description),
    genre: text(info.genre),
    url: text(info.url),
    bitrate:
      Number.isSafeInteger(info.bitrate) && info.bitrate > 0
        ? Math.min(info.bitrate, 0xffff_ffff)
        : 0,
  };
}

/**
 * The stream's title and station info (ICY): what the ingest learns (`ingest-metadata`)
 * goes to every member as one stream-metadata datagram, and to each joiner once its hello
 * completes the join, in `STREAM_METADATA_COPIES` copies a second apart. Peers never relay
 * it: the source reaches every member directly, and a change costs each a few hundred bytes.
 */
export class StreamMetadata {
  readonly #context: SourceContext;
  readonly #cluster: SourceCluster;
  readonly #membership: Membership;
  readonly #chunker: Chunker;
  #sequence = 0;
  #chunkNumber = 0;
  #title = '';
  #info: StreamInfo = UNKNOWN_STREAM_INFO;
  /** The encoded current datagram; null until the ingest said anything. */
  #datagram: Uint8Array | null = null;
  /** Copies still owed to each member. */
  readonly #owed = new Map<MemberId, number>();

  constructor(
    context: SourceContext,
    cluster: SourceCluster,
    membership: Membership,
    chunker: Chunker,
  ) {
    this.#context = context;
    this.#cluster = cluster;
    this.#membership = membership;
    this.#chunker = chunker;
    context.timers.register('metadata-repeat', (now) => this.#repeat(now));
  }

  get title(): string {
    return this.#title;
  }

  get info(): StreamInfo {
    return this.#info;
  }

  /** The ingest learnt a title and/or station info; a change goes to every member. */
  update(title: string | undefined, info: StreamInfo | undefined, now: Instant): void {
    const nextTitle =
      title === undefined ? this.#title : truncateUtf8(title, MAX_STREAM_TITLE_BYTES);
    const nextInfo = info === undefined ? this.#info : boundedInfo(info);
    const same =
      this.#datagram !== null &&
      nextTitle === this.#title &&
      (Object.keys(nextInfo) as (keyof StreamInfo)[]).every(
        (key) => nextInfo[key] === this.#info[key],
      );
    if (same) return;
    this.#sequence = (this.#sequence + 1) >>> 0;
    this.#chunkNumber = this.#chunker.nextChunkNumber();
    this.#title = nextTitle;
    this.#info = nextInfo;
    this.#datagram = encodeDatagram({
      type: 'stream-metadata',
      sequence: this.#sequence,
      chunkNumber: this.#chunkNumber,
      title: nextTitle,
      info: nextInfo,
    });
    this.#context.stats.metadataChanges++;
    this.#context.emit({
      name: 'metadata-change',
      level: 'info',
      fields: { sequence: this.#sequence, chunkNumber: this.#chunkNumber, title: nextTitle },
    });
    for (const member of this.#membership.activeMembers()) this.#start(member, now);
  }

  /** A joiner's hello completed its join: it learns the current metadata too. */
  activated(member: Member, now: Instant): void {
    if (this.#datagram !== null) this.#start(member, now);
  }

  #start(member: Member, now: Instant): void {
    this.#owed.set(member.memberId, STREAM_METADATA_COPIES);
    this.#send(member);
    const timers = this.#context.timers;
    if (timers.deadline('metadata-repeat') === null) {
      timers.set('metadata-repeat', now + STREAM_METADATA_REPEAT_MILLIS);
    }
  }

  #send(member: Member): void {
    const left = (this.#owed.get(member.memberId) ?? 0) - 1;
    if (left > 0) this.#owed.set(member.memberId, left);
    else this.#owed.delete(member.memberId);
    this.#context.stats.metadataDatagramsSent++;
    this.#context.sendBytes(member.endpoint, this.#datagram!);
  }

  #repeat(now: Instant): void {
    for (const memberId of [...this.#owed.keys()]) {
      const member = this.#membership.isActive(memberId)
        ? this.#cluster.members.get(memberId)
        : undefined;
      if (member === undefined) this.#owed.delete(memberId);
      else this.#send(member);
    }
    if (this.#owed.size > 0) {
      this.#context.timers.set('metadata-repeat', now + STREAM_METADATA_REPEAT_MILLIS);
    }
  }
}
