import { ADTS, type AudioFrameFormat, checkConfirmedFrame, MPEG_AUDIO } from './audio-frames.js';
import { ByteWindow } from './bytes.js';
import { CLUSTER_ID, CLUSTER_TIMESTAMP_ID, CRC32_ID, readElementSize, VOID_ID } from './ebml.js';
import type { MediaKind } from './media-type.js';
import { isHeaderPage, parseOggPage } from './ogg.js';

/**
 * Finds the first point of a stream, joined anywhere, where a decoder that already has the
 * stream header can start cleanly.
 */
export interface SyncScanner {
  /**
   * Feeds the next bytes (any slicing). Returns the absolute offset (counted from the first
   * byte ever pushed) of the first sync point once it is confirmed, else -1. The offset may
   * lie in an earlier push when confirming needed later bytes (an Ogg page's CRC covers the
   * whole page). Once found, `syncOffset` keeps it and further pushes return -1.
   */
  push(bytes: Uint8Array): number;
  /** The sync point found, or -1. */
  readonly syncOffset: number;
  /** Bytes pushed so far. */
  readonly bytesSeen: number;
}

/** One-shot helper: the offset of the first sync point in `bytes`, or -1. */
export function findSyncPoint(kind: MediaKind, bytes: Uint8Array): number {
  return createSyncScanner(kind).push(bytes);
}

type Candidate =
  | { readonly status: 'sync' }
  /** Undecided; if genuine, the next sync point is at least `minimumLength` bytes further. */
  | { readonly status: 'need-more'; readonly minimumLength: number }
  /** Not a sync point; the next candidate is at least `skip` bytes further. */
  | { readonly status: 'no'; readonly skip: number };

interface SyncRule {
  /** First byte of every sync point (for indexOf), or undefined when any byte may start one. */
  readonly firstByte: number | undefined;
  check(bytes: Uint8Array, offset: number): Candidate;
}

const NO: Candidate = { status: 'no', skip: 1 };
const SYNC: Candidate = { status: 'sync' };
const NEED_MORE: Candidate = { status: 'need-more', minimumLength: 1 };

/**
 * Ogg: a page boundary ("OggS", version 0, CRC valid over the whole page, RFC 3533 section 6)
 * that is not a header page (the player already got those with the header).
 */
const OGG_RULE: SyncRule = {
  firstByte: 0x4f, // "O"
  check(bytes, offset) {
    const parsed = parseOggPage(bytes, offset);
    if (parsed.status === 'need-more') return parsed;
    if (parsed.status === 'invalid') return NO;
    return isHeaderPage(bytes, parsed.page) ? { status: 'no', skip: parsed.page.length } : SYNC;
  },
};

function frameRule(format: AudioFrameFormat): SyncRule {
  return {
    firstByte: format.syncByte,
    check(bytes, offset) {
      const result = checkConfirmedFrame(format, bytes, offset);
      if (result.status !== 'need-more') return result.status === 'frame' ? SYNC : NO;
      const header = format.parse(bytes, offset);
      return { status: 'need-more', minimumLength: header === undefined ? 1 : header.length };
    },
  };
}

const CLUSTER_ID_BYTES = [
  CLUSTER_ID >>> 24,
  (CLUSTER_ID >> 16) & 0xff,
  (CLUSTER_ID >> 8) & 0xff,
  CLUSTER_ID & 0xff,
];

/**
 * WebM: a Cluster element (ID 1F 43 B6 75, RFC 9559 section 5.1.3) with a valid size whose
 * first child is its Timestamp (E7), as muxers write it, or a CRC-32/Void element. Checking
 * the child rules out chance matches in block data.
 */
const WEBM_RULE: SyncRule = {
  firstByte: CLUSTER_ID_BYTES[0]!,
  check(bytes, offset) {
    for (let index = 0; index < 4; index++) {
      const value = bytes[offset + index];
      if (value === undefined) return NEED_MORE;
      if (value !== CLUSTER_ID_BYTES[index]) return NO;
    }
    const size = readElementSize(bytes, offset + 4);
    if (size.status === 'need-more') return NEED_MORE;
    if (size.status === 'invalid') return NO;
    const child = bytes[offset + 4 + size.length];
    if (child === undefined) return NEED_MORE;
    return child === CLUSTER_TIMESTAMP_ID || child === CRC32_ID || child === VOID_ID ? SYNC : NO;
  },
};

const ANY_BYTE_RULE: SyncRule = { firstByte: undefined, check: () => SYNC };

function ruleFor(kind: MediaKind): SyncRule {
  switch (kind) {
    case 'ogg':
      return OGG_RULE;
    case 'webm':
      return WEBM_RULE;
    case 'mp3':
      return frameRule(MPEG_AUDIO);
    case 'aac-adts':
      return frameRule(ADTS);
    default:
      return ANY_BYTE_RULE; // no structure known: any byte will do
  }
}

function findConfirmedWithin(rule: SyncRule, bytes: Uint8Array, from: number, to: number): number {
  const end = Math.min(to, bytes.length);
  for (let offset = from; offset < end; offset++) {
    if (rule.firstByte !== undefined) {
      offset = bytes.indexOf(rule.firstByte, offset);
      if (offset < 0 || offset >= end) return -1;
    }
    if (rule.check(bytes, offset).status === 'sync') return offset;
  }
  return -1;
}

/** Creates an incremental sync point scanner for a stream of this kind. */
export function createSyncScanner(kind: MediaKind): SyncScanner {
  const rule = ruleFor(kind);
  const window = new ByteWindow();
  /** Absolute offset of the next candidate. */
  let cursor = 0;
  let syncOffset = -1;
  return {
    get syncOffset() {
      return syncOffset;
    },
    get bytesSeen() {
      return window.end;
    },
    push(bytes) {
      if (syncOffset >= 0) {
        window.append(bytes);
        window.clear();
        return -1;
      }
      window.append(bytes);
      for (;;) {
        const held = window.bytes;
        let relative = cursor - window.first;
        if (rule.firstByte !== undefined) {
          const found = held.indexOf(rule.firstByte, relative);
          if (found < 0) {
            cursor = window.end;
            window.clear();
            return -1;
          }
          relative = found;
          cursor = window.first + found;
        } else if (relative >= held.length) {
          return -1;
        }
        const candidate = rule.check(held, relative);
        if (candidate.status === 'sync') {
          syncOffset = cursor;
          window.clear();
          return syncOffset;
        }
        if (candidate.status === 'need-more') {
          // A false capture pattern can claim up to 64 KiB of page. If a confirmed sync
          // point starts inside that claim, the claim is false (units do not overlap): take it.
          const overlapping = findConfirmedWithin(
            rule,
            held,
            relative + 1,
            relative + candidate.minimumLength,
          );
          if (overlapping >= 0) {
            syncOffset = window.first + overlapping;
            window.clear();
            return syncOffset;
          }
          window.discardBefore(cursor);
          return -1;
        }
        cursor += candidate.skip;
        if (cursor >= window.end) {
          window.discardBefore(window.end);
          // Keep counting skipped bytes not yet received (a header page longer than held).
          return -1;
        }
      }
    },
  };
}
