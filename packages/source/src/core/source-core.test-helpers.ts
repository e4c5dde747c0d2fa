import {
  type CoreOutput,
  createRandom,
  decodeDatagram,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  type FrameMessage,
  type JoinRequest,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import type { SourceConfig } from './source-config.js';
import { SourceCore } from './source-core.js';

// The scripted-joiner harness the SourceCore unit tests share (sans-IO: inputs in, outputs
// drained, nothing sleeps). Test-only: tsconfig.build.json leaves `*.test-helpers.ts` out.

/** A peer's join-request frame (no credential, NAT unknown) with `overrides`. */
export function joinRequest(overrides: Partial<JoinRequest> = {}): Uint8Array {
  return encodeFrame({
    type: 'join-request',
    role: 'peer',
    privateEndpoint: null,
    nat: UNKNOWN_NAT_REPORT,
    credential: new Uint8Array(0),
    ...overrides,
  });
}

/** A source with 64-byte chunks and B = 8, seeded. */
export function createSource(config: Partial<SourceConfig> = {}) {
  return new SourceCore({ random: createRandom(1), chunkSize: 64, bufferSize: 8, ...config });
}

/** The frames the source wrote on `connection`, decoded. */
export function framesWritten(outputs: CoreOutput[], connection: number): FrameMessage[] {
  const decoder = new FrameDecoder();
  for (const output of outputs) {
    if (output.type === 'write' && output.connection === connection) decoder.push(output.bytes);
  }
  return [...decoder].map((result) => {
    if (!result.ok) throw new Error(result.error.detail);
    return result.message;
  });
}

/** The datagrams the source sent, decoded (throws on one it could not have meant). */
export function datagramsSent(outputs: CoreOutput[]) {
  return outputs.flatMap((output) => {
    if (output.type !== 'send-datagram') return [];
    const decoded = decodeDatagram(output.bytes);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    return [{ to: output.to, message: decoded.message }];
  });
}

/** A joiner connects from `remote` and sends its join-request (outputs left undrained). */
export function requestJoin(
  core: SourceCore,
  connection: number,
  remote: Endpoint,
  now: number,
  request: Partial<JoinRequest> = {},
): void {
  core.handle({ type: 'connection-open', connection, remote }, now);
  core.handle({ type: 'connection-data', connection, bytes: joinRequest(request) }, now);
}

/**
 * A whole join (rule 4): a joiner from `udp`'s host connects (TCP port 40000 + connection)
 * with `request`, is accepted, and says hello from `udp`. Returns its accept and the outputs
 * its hello caused.
 */
export function join(
  core: SourceCore,
  connection: number,
  udp: Endpoint,
  now: number,
  request: Partial<JoinRequest> = {},
) {
  requestJoin(core, connection, { address: udp.address, port: 40000 + connection }, now, request);
  const accept = framesWritten(drainOutputs(core), connection)[0];
  if (accept?.type !== 'join-accept') throw new Error(`no accept: ${JSON.stringify(accept)}`);
  sendHello(core, udp, accept.memberId, 7, now);
  return { accept, outputs: drainOutputs(core) };
}

/** The joiner's UDP hello for `memberId` from `from`. */
export function sendHello(
  core: SourceCore,
  from: Endpoint,
  memberId: number,
  nonce: number,
  now: number,
): void {
  core.handle(
    { type: 'datagram', from, bytes: encodeDatagram({ type: 'hello', memberId, nonce }) },
    now,
  );
}
