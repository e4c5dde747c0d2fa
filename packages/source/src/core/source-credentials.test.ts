import { createVerifier, generateSigner } from '@p2psp/host';
import { credentialSignedBytes, decodeCredential, drainOutputs, type NatReport } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { createSource, datagramsSent, join, sendHello } from './source-core.test-helpers.js';

/** Membership credentials: the source's signed word in each member's hello-ack. */

const nat = (type: NatReport['type']): NatReport => ({ type, portStep: 0, mappedEndpoint: null });
const a = { address: '198.51.100.1', port: 20000 };
const b = { address: '198.51.100.2', port: 30000 };
const c = { address: '198.51.100.3', port: 5000 };

function credentialIn(outputs: ReturnType<typeof join>['outputs']) {
  const ack = datagramsSent(outputs).find((datagram) => datagram.message.type === 'hello-ack');
  if (ack?.message.type !== 'hello-ack' || ack.message.credential === undefined) {
    throw new Error('no hello-ack with a credential');
  }
  return ack.message.credential;
}

describe('SourceCore membership credentials', () => {
  it("gives each member, in its hello's ack, a credential naming it where its hello came from", () => {
    const signer = generateSigner();
    const core = createSource({ signer, initialChunkIntervalMillis: 20 });
    const first = join(core, 1, a, 0, { privateEndpoint: { address: '192.168.1.2', port: 4000 } });
    expect(first.accept.sourceKey).toEqual(signer.publicKey);
    const credential = credentialIn(first.outputs);
    const decoded = decodeCredential(credential);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    expect(decoded.message.member).toMatchObject({
      memberId: first.accept.memberId,
      endpoint: a,
      privateEndpoint: { address: '192.168.1.2', port: 4000 },
    });
    // Valid for 60 s of stream: 3,000 chunks of 20 ms from the next chunk cut.
    expect(decoded.message.expiresAt).toBe(first.accept.nextChunkNumber + 3000);
    const verifier = createVerifier();
    const signed = credentialSignedBytes(credential);
    expect(verifier.verify(signer.publicKey, signed, decoded.message.signature)).toBe(true);
    // A later hello (a renewal) is answered with a fresh one.
    sendHello(core, a, first.accept.memberId, 9, 1000);
    expect(decodeCredential(credentialIn(drainOutputs(core)))).toMatchObject({ ok: true });
    expect(core.stats().credentialsIssued).toBe(2);
  });

  it('introduces a joiner only to members whose NAT filters its hellos (NTS), three copies each', () => {
    const core = createSource({ signer: generateSigner() });
    join(core, 1, a, 0, { nat: nat('open') });
    join(core, 2, c, 0, { privateEndpoint: c }); // unknown, at its own endpoint: no NAT
    join(core, 3, b, 0, { nat: nat('port-restricted-cone') });
    const fourth = join(core, 4, { address: '198.51.100.4', port: 6000 }, 0, {
      nat: nat('full-cone'),
    });
    const introductions = datagramsSent(fourth.outputs).filter(
      (datagram) => datagram.message.type === 'peer-list-reply',
    );
    expect(introductions.map((datagram) => datagram.to)).toEqual([b, b, b]);
    // The port-restricted member was introduced once (to the full-cone joiner); the open
    // and unknown members never: they take joiners on their credentials.
    expect(core.stats().membersIntroduced).toBe(1);
  });

  it('introduces every joiner to every member when it has no key (a trusted LAN)', () => {
    const core = createSource();
    join(core, 1, a, 0, { nat: nat('open') });
    const second = join(core, 2, b, 0, { nat: nat('open') });
    expect(second.accept.sourceKey).toHaveLength(0);
    expect(credentialIn.bind(null, second.outputs)).toThrow(/no hello-ack with a credential/);
    expect(core.stats()).toMatchObject({ membersIntroduced: 1, credentialsIssued: 0 });
  });
});
