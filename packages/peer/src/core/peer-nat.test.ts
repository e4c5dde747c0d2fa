import { encodeStunMessage } from '@p2psp/nat';
import {
  type CoreOutput,
  createRandom,
  decodeDatagram,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  encodeFrame,
  type MemberInfo,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { PeerCore } from './peer-core.js';

/** NAT traversal in the peer core: STUN on the socket, port prediction towards symmetric NATs. */

const SOURCE: Endpoint = { address: '203.0.113.1', port: 4552 };
const SELF_ID = 5;
const FLAGS = { monitor: false, external: false, liberated: false };

function hellosTo(outputs: CoreOutput[]): { to: Endpoint; nonce: number }[] {
  return outputs.flatMap((output) => {
    if (output.type !== 'send-datagram') return [];
    const decoded = decodeDatagram(output.bytes);
    if (!decoded.ok || decoded.message.type !== 'hello') return [];
    return [{ to: output.to, nonce: decoded.message.nonce }];
  });
}

/** A peer that joined a cluster listing `members`; returns it and its first outputs. */
function joined(members: MemberInfo[]) {
  const core = new PeerCore({ source: SOURCE, random: createRandom(3) });
  core.handleTimeout(0);
  core.handle({ type: 'connection-open', connection: -1, remote: SOURCE }, 0);
  drainOutputs(core);
  const accept = encodeFrame({
    type: 'join-accept',
    memberId: SELF_ID,
    observedEndpoint: { address: '198.51.100.5', port: 40000 },
    chunkSize: 1024,
    bufferSize: 32,
    monitorCount: 1,
    chunkIntervalMicros: 20_000,
    nextChunkNumber: 0,
    mediaType: 'audio/mpeg',
    header: new Uint8Array(0),
    sourceKey: new Uint8Array(0),
    members: [
      {
        memberId: SELF_ID,
        endpoint: { address: '198.51.100.5', port: 4000 },
        privateEndpoint: null,
        flags: FLAGS,
      },
      ...members,
    ],
  });
  core.handle({ type: 'connection-data', connection: -1, bytes: accept }, 0);
  return { core, outputs: drainOutputs(core) };
}

describe('PeerCore and NAT traversal (NTS)', () => {
  it('ignores STUN datagrams on its socket (NAT detection shares it), counted apart', () => {
    const { core } = joined([]);
    const stun = encodeStunMessage({
      method: 0x001,
      messageClass: 'success-response',
      transactionId: new Uint8Array(12),
      attributes: [],
    });
    core.handle({ type: 'datagram', from: SOURCE, bytes: stun }, 1);
    expect(drainOutputs(core).filter((output) => output.type === 'send-datagram')).toEqual([]);
    expect(core.stats().stunDatagramsIgnored).toBe(1);
    expect(Object.values(core.stats().datagramsDropped).every((count) => count === 0)).toBe(true);
  });

  it('hellos up to 32 predicted ports of a sequential symmetric member, then moves to the one that answers', () => {
    const seen = { address: '198.51.100.9', port: 30000 };
    const { core, outputs } = joined([
      {
        memberId: 9,
        endpoint: seen,
        privateEndpoint: null,
        flags: FLAGS,
        nat: { type: 'symmetric-sequential', portStep: 2, mappedEndpoint: null },
      },
      // A cone member gets no prediction.
      {
        memberId: 10,
        endpoint: { address: '198.51.100.10', port: 4000 },
        privateEndpoint: null,
        flags: FLAGS,
        nat: { type: 'port-restricted-cone', portStep: 0, mappedEndpoint: null },
      },
    ]);
    const toNine = hellosTo(outputs).filter((hello) => hello.to.address === seen.address);
    // The seen endpoint, then base + k x step for k = 1..32 (NTS prediction, bounded).
    expect(toNine.map((hello) => hello.to.port)).toEqual([
      30000,
      ...Array.from({ length: 32 }, (_, k) => 30000 + 2 * (k + 1)),
    ]);
    expect(hellosTo(outputs).filter((hello) => hello.to.address === '198.51.100.10')).toHaveLength(
      1,
    );
    expect(core.stats().predictedHellosSent).toBe(32);
    // Its NAT opened 30006 towards us: the ack to our nonce comes from there.
    const nonce = toNine[0]!.nonce;
    const punched = { address: seen.address, port: 30006 };
    core.handle(
      {
        type: 'datagram',
        from: punched,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce }),
      },
      5,
    );
    const nine = core.neighbours().find((neighbour) => neighbour.memberId === 9);
    expect(nine).toMatchObject({ endpoint: punched, reachable: true, verified: true });
    expect(core.stats().neighboursPunched).toBe(1);
    // No more predictions once it answered: the next round hellos nobody at 198.51.100.9.
    drainOutputs(core);
    core.handleTimeout(1000);
    expect(
      hellosTo(drainOutputs(core)).filter((hello) => hello.to.address === seen.address),
    ).toEqual([]);
  });

  it('an ack with a wrong nonce from an unknown port moves nothing (no spoofed redirection)', () => {
    const seen = { address: '198.51.100.9', port: 30000 };
    const { core } = joined([
      {
        memberId: 9,
        endpoint: seen,
        privateEndpoint: null,
        flags: FLAGS,
        nat: { type: 'symmetric-sequential', portStep: 1, mappedEndpoint: null },
      },
    ]);
    core.handle(
      {
        type: 'datagram',
        from: { address: '192.0.2.66', port: 1 },
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 9, nonce: 12345 }),
      },
      5,
    );
    expect(core.neighbours()[0]).toMatchObject({ endpoint: seen, reachable: false });
    expect(core.stats().datagramsDropped['non-member']).toBe(1);
  });

  it('hellos a member behind our own public address at its private endpoint too, and moves there when it answers (EMS)', () => {
    // The accept says the source sees us at 198.51.100.5: member 11 is behind the same NAT.
    const lan = { address: '10.0.1.3', port: 4000 };
    const wan = { address: '198.51.100.5', port: 4001 };
    const { core, outputs } = joined([
      { memberId: 11, endpoint: wan, privateEndpoint: lan, flags: FLAGS },
      // Another public address: its private endpoint is not ours to try.
      {
        memberId: 12,
        endpoint: { address: '198.51.100.12', port: 4000 },
        privateEndpoint: { address: '10.0.9.9', port: 4000 },
        flags: FLAGS,
      },
    ]);
    const hellos = hellosTo(outputs);
    expect(hellos.map((hello) => `${hello.to.address}:${hello.to.port}`)).toEqual([
      '203.0.113.1:4552',
      '198.51.100.5:4001',
      '10.0.1.3:4000',
      '198.51.100.12:4000',
    ]);
    expect(core.stats().privateHellosSent).toBe(1);
    // Our NAT does not hairpin: the answer comes over the LAN, with our nonce.
    const nonce = hellos[1]!.nonce;
    core.handle(
      {
        type: 'datagram',
        from: lan,
        bytes: encodeDatagram({ type: 'hello-ack', memberId: 11, nonce }),
      },
      5,
    );
    const eleven = core.neighbours().find((neighbour) => neighbour.memberId === 11);
    expect(eleven).toMatchObject({ endpoint: lan, reachable: true, verified: true });
    expect(core.stats()).toMatchObject({ neighboursPrivate: 1, neighboursPunched: 0 });
  });
});
