import {
  type ChunkFlags,
  type CoreOutput,
  createRandom,
  type DatagramMessage,
  decodeDatagram,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  type JoinAccept,
  type MemberInfo,
} from '@p2psp/wire';
import type { PeerConfig } from './peer-config.js';
import { PeerCore } from './peer-core.js';

// The joined-peer harness the PeerCore unit tests share: a scripted source, a scripted
// cluster (us = 5, members 1-4, 1 the monitor) and a scripted clock (sans-IO: nothing
// sleeps). Test-only: tsconfig.build.json leaves `*.test-helpers.ts` out of the build.

export const SOURCE: Endpoint = { address: '10.0.0.1', port: 4552 };
export const ME = 5;
export const PLAIN: ChunkFlags = { nonExclusive: false, recovered: false };

export function member(memberId: number, monitor = false): MemberInfo {
  return {
    memberId,
    endpoint: { address: `10.0.1.${memberId}`, port: 5000 },
    privateEndpoint: null,
    flags: { monitor, external: false, liberated: false },
  };
}

/** The source's join-accept for us: B = 8, 10 ms chunks, members 1-4 listed (1 the monitor). */
export function accept(overrides: Partial<JoinAccept> = {}): JoinAccept {
  return {
    type: 'join-accept',
    memberId: ME,
    observedEndpoint: { address: '10.0.1.5', port: 40000 },
    chunkSize: 16,
    bufferSize: 8,
    monitorCount: 1,
    chunkIntervalMicros: 10_000,
    nextChunkNumber: 0,
    mediaType: 'audio/mpeg',
    header: Uint8Array.of(7, 7),
    members: [member(ME), member(1, true), member(2), member(3), member(4)],
    sourceKey: new Uint8Array(0),
    ...overrides,
  };
}

export function sent(outputs: CoreOutput[]): { to: Endpoint; message: DatagramMessage }[] {
  return outputs.flatMap((output) => {
    if (output.type !== 'send-datagram') return [];
    const decoded = decodeDatagram(output.bytes);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    return [{ to: output.to, message: decoded.message }];
  });
}

/** A chunk datagram whose payload starts with the chunk number's low byte. */
export function chunkDatagram(chunkNumber: number, origin: number, flags = PLAIN): Uint8Array {
  return encodeDatagram({
    type: 'chunk',
    chunkNumber,
    origin,
    flags,
    payload: Uint8Array.of(chunkNumber & 0xff, 1, 2, 3),
    signature: new Uint8Array(0),
  });
}

/** A peer that joined (accept read, hello-ack from the source received) at t = 0. */
export function joinedPeer(
  config: Partial<PeerConfig> = {},
  acceptOverrides: Partial<JoinAccept> = {},
) {
  const core = new PeerCore({ source: SOURCE, random: createRandom(3), ...config });
  core.handleTimeout(0);
  core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
  core.handle(
    { type: 'connection-data', connection: -1, bytes: encodeFrame(accept(acceptOverrides)) },
    0,
  );
  const outputs = drainOutputs(core);
  const hello = sent(outputs).find(({ to }) => to === SOURCE || to.port === SOURCE.port);
  if (hello?.message.type !== 'hello') throw new Error('no hello to the source');
  core.handle(
    {
      type: 'datagram',
      from: SOURCE,
      bytes: encodeDatagram({ type: 'hello-ack', memberId: ME, nonce: hello.message.nonce }),
    },
    0,
  );
  drainOutputs(core);
  return { core, outputs };
}
