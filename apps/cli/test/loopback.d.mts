import type { Readable } from 'node:stream';
import type { PeerHandle, PeerOptions } from '@p2psp/peer/node';
import type { SourceHandle } from '@p2psp/source/node';

export function sleep(ms: number): Promise<void>;
export function until(condition: () => boolean, limitMs?: number, what?: string): Promise<void>;
export function startRandomFeed(options: {
  bytesPerSecond: number;
  blockBytes?: number;
  maxSeconds: number;
}): { stream: Readable; end: () => void };
export function loopbackSourceOptions(feed: { stream: Readable }): {
  input: '-';
  stdin: Readable;
  mediaType: 'application/octet-stream';
  address: '127.0.0.1';
  port: 0;
};
export function loopbackPeerOptions(
  source: Pick<SourceHandle, 'endpoint'>,
  seed: number,
  extra?: Partial<PeerOptions>,
): PeerOptions;
export function startLoopbackPeers(
  source: Pick<SourceHandle, 'endpoint'>,
  count: number,
  firstSeed: number,
  peers?: PeerHandle[],
  extra?: Partial<PeerOptions>,
): Promise<PeerHandle[]>;
