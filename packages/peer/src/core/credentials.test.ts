import { createVerifier, generateSigner } from '@p2psp/host';
import {
  type CoreOutput,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
  type MemberInfo,
  signCredential,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { chunkDatagram, joinedPeer, ME, member, SOURCE, sent } from './joined-peer.test-helpers.js';

// Membership credentials: a member the source did not list to us is taken on the credential
// the source signed for it; a stranger without one gets nothing back.

const signer = generateSigner();
const JOINER = { address: '10.0.1.9', port: 5000 };
const joiner: MemberInfo = { ...member(9), endpoint: JOINER };

const OWN = signCredential(
  signer,
  { ...member(ME), endpoint: { address: '10.0.1.5', port: 40000 } },
  40,
);

/** The source's answer to our hello, with our credential. */
function ackWith(core: ReturnType<typeof joinedPeer>['core'], credential: Uint8Array) {
  core.handle(
    {
      type: 'datagram',
      from: SOURCE,
      bytes: encodeDatagram({ type: 'hello-ack', memberId: ME, nonce: 1, credential }),
    },
    0,
  );
  return sent(drainOutputs(core));
}

/**
 * A peer that joined a source signing with `signer`, checking with a real verifier, and
 * (unless `own` is false) got its own credential.
 */
function peer(own = true) {
  const joined = joinedPeer({ verifier: createVerifier() }, { sourceKey: signer.publicKey });
  if (own) ackWith(joined.core, OWN);
  return joined;
}

function hello(
  core: ReturnType<typeof peer>['core'],
  from: Endpoint,
  credential?: Uint8Array,
  now = 1,
) {
  core.handle(
    {
      type: 'datagram',
      from,
      bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 77, credential }),
    },
    now,
  );
  return sent(drainOutputs(core));
}

const bytesOut = (outputs: CoreOutput[]) =>
  outputs.reduce(
    (sum, output) => sum + (output.type === 'send-datagram' ? output.bytes.length : 0),
    0,
  );

describe('PeerCore membership credentials', () => {
  it('takes a member the source did not list on its credential: answered, then sent relays', () => {
    const { core } = peer();
    const replies = hello(core, JOINER, signCredential(signer, joiner, 1000));
    expect(replies).toEqual([
      { to: JOINER, message: { type: 'hello-ack', memberId: ME, nonce: 77 } },
    ]);
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 9)).toMatchObject({
      endpoint: JOINER,
      verified: true,
    });
    expect(core.stats().neighboursCredentialed).toBe(1);
    // The next source chunk is relayed to it too (rule 2).
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME) }, 10);
    core.handleTimeout(100);
    const relayedTo = sent(drainOutputs(core))
      .filter(({ message }) => message.type === 'chunk')
      .map(({ to }) => to.address);
    expect(relayedTo).toContain(JOINER.address);
  });

  it('challenges one from another port of the address its credential names (a symmetric NAT)', () => {
    const { core } = peer();
    const remapped = { address: JOINER.address, port: 41234 };
    const replies = hello(core, remapped, signCredential(signer, joiner, 1000));
    expect(replies.map(({ to, message }) => [to.port, message.type])).toEqual([[41234, 'hello']]);
    expect(core.neighbours().find((neighbour) => neighbour.memberId === 9)).toMatchObject({
      endpoint: remapped,
      verified: false,
    });
  });

  it.each<[string, () => Uint8Array | undefined, Endpoint]>([
    ['no credential', () => undefined, JOINER],
    ['a credential of another key', () => signCredential(generateSigner(), joiner, 1000), JOINER],
    ['an expired credential', () => signCredential(signer, joiner, 0), JOINER],
    ['a credential for another member id', () => signCredential(signer, member(8), 1000), JOINER],
    [
      'a credential naming another address',
      () => signCredential(signer, joiner, 1000),
      { address: '10.0.1.10', port: 5000 },
    ],
    [
      'a credential whose signature was changed',
      () => {
        const credential = signCredential(signer, joiner, 1000);
        credential[credential.length - 1]! ^= 1;
        return credential;
      },
      JOINER,
    ],
    ['a malformed credential', () => new Uint8Array(90), JOINER],
  ])('sends a stranger nothing for a hello with %s, and learns nothing', (_, credential, from) => {
    const { core } = peer();
    // The schedule is past chunk 0 (an expired credential names chunk 0).
    core.handle({ type: 'datagram', from: SOURCE, bytes: chunkDatagram(0, ME) }, 0);
    drainOutputs(core);
    core.handle(
      {
        type: 'datagram',
        from,
        bytes: encodeDatagram({ type: 'hello', memberId: 9, nonce: 77, credential: credential() }),
      },
      50,
    );
    expect(bytesOut(drainOutputs(core))).toBe(0);
    expect(core.neighbours().some((neighbour) => neighbour.memberId === 9)).toBe(false);
  });

  it('takes no credential without a verifier or from a source without a key', () => {
    for (const { core } of [
      joinedPeer({}, { sourceKey: signer.publicKey }),
      joinedPeer({ verifier: createVerifier() }),
    ]) {
      expect(hello(core, JOINER, signCredential(signer, joiner, 1000))).toEqual([]);
    }
  });

  it("holds its hellos to members until the source's hello-ack brings its credential, then renews it", () => {
    const { core, outputs } = peer(false);
    expect(sent(outputs).filter(({ message }) => message.type === 'hello')).toHaveLength(1);
    // At once, hellos with it to the members that have not answered yet.
    const hellos = ackWith(core, OWN).filter(({ message }) => message.type === 'hello');
    expect(hellos.map(({ to }) => to.address)).toEqual([
      '10.0.1.1',
      '10.0.1.2',
      '10.0.1.3',
      '10.0.1.4',
    ]);
    for (const { message } of hellos) {
      expect(message.type === 'hello' && message.credential).toEqual(OWN);
    }
    // Past half its life (40 chunks of 10 ms: 200 ms), a hello round also asks the source.
    core.handleTimeout(250);
    const round = sent(drainOutputs(core));
    expect(round.filter(({ to }) => to === SOURCE || to.port === SOURCE.port)).toHaveLength(1);
    expect(core.stats().credentialRenewals).toBe(1);
  });
});
