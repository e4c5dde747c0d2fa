import { describe, expect, it } from 'vitest';
import {
  credentialSignedBytes,
  decodeCredential,
  MAX_MEMBERSHIP_CREDENTIAL_BYTES,
  signCredential,
} from './membership-credential.js';
import type { MemberInfo } from './messages.js';
import type { Signer } from './signing.js';

/** A stand-in for Ed25519: the signature is the signed bytes' sum, repeated (64 bytes). */
const signer: Signer = {
  publicKey: new Uint8Array(32).fill(1),
  sign: (message) => new Uint8Array(64).fill(message.reduce((sum, byte) => sum + byte, 0) & 0xff),
};

const member: MemberInfo = {
  memberId: 7,
  endpoint: { address: '198.51.100.7', port: 4000 },
  privateEndpoint: { address: '192.168.1.7', port: 4000 },
  flags: { monitor: false, external: true, liberated: false },
  nat: { type: 'port-restricted-cone', portStep: 0, mappedEndpoint: null },
};

describe('membership credential', () => {
  it('signs expiry and member entry, and decodes them back', () => {
    const credential = signCredential(signer, member, 0xffff_fff0);
    const decoded = decodeCredential(credential);
    expect(decoded).toEqual({
      ok: true,
      message: { member, expiresAt: 0xffff_fff0, signature: expect.any(Uint8Array) },
    });
    // The signature covers a context string and every byte before it.
    const signed = credentialSignedBytes(credential);
    expect(new TextDecoder().decode(signed.subarray(0, 27))).toBe('p2psp membership credential');
    expect(decoded.ok && decoded.message.signature).toEqual(signer.sign(signed));
  });

  it('fits its bound with the largest member entry (IPv6 endpoints, a NAT report)', () => {
    const largest = signCredential(
      signer,
      {
        ...member,
        endpoint: { address: '2001:db8::1', port: 1 },
        privateEndpoint: { address: '2001:db8::2', port: 2 },
      },
      1,
    );
    expect(largest).toHaveLength(MAX_MEMBERSHIP_CREDENTIAL_BYTES);
  });

  it('refuses malformed credentials with a code, never throwing', () => {
    const credential = signCredential(signer, member, 5);
    expect(decodeCredential(credential.subarray(0, credential.length - 1))).toMatchObject({
      ok: false,
      error: { code: 'truncated' },
    });
    expect(decodeCredential(new Uint8Array([...credential, 0]))).toMatchObject({
      ok: false,
      error: { code: 'bad-length' },
    });
    expect(decodeCredential(new Uint8Array(MAX_MEMBERSHIP_CREDENTIAL_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: 'bad-length' },
    });
    const badFlags = credential.slice();
    badFlags[8] = 0xf0;
    expect(decodeCredential(badFlags)).toMatchObject({ ok: false, error: { code: 'bad-value' } });
    expect(decodeCredential(new Uint8Array(0))).toMatchObject({ ok: false });
  });
});
