import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createVerifier, generateSigner, privateKeyPem, signerFromPem } from './ed25519.js';

describe('Ed25519 on node:crypto', () => {
  it('signs with a 32-byte public key and 64-byte signatures that the verifier accepts', () => {
    const signer = generateSigner();
    const verifier = createVerifier();
    const message = new TextEncoder().encode('member 7');
    const signature = signer.sign(message);
    expect(signer.publicKey).toHaveLength(32);
    expect(signature).toHaveLength(64);
    expect(verifier.verify(signer.publicKey, message, signature)).toBe(true);
  });

  it('refuses a changed message, another key, a bad signature or key length, never throwing', () => {
    const signer = generateSigner();
    const other = generateSigner();
    const verifier = createVerifier();
    const message = new Uint8Array([1, 2, 3]);
    const signature = signer.sign(message);
    expect(verifier.verify(signer.publicKey, new Uint8Array([1, 2, 4]), signature)).toBe(false);
    expect(verifier.verify(other.publicKey, message, signature)).toBe(false);
    expect(verifier.verify(signer.publicKey, message, signature.subarray(1))).toBe(false);
    expect(verifier.verify(signer.publicKey.subarray(1), message, signature)).toBe(false);
    expect(verifier.verify(new Uint8Array(32), message, new Uint8Array(64))).toBe(false);
    // The cached key follows the key asked for.
    expect(verifier.verify(signer.publicKey, message, signature)).toBe(true);
  });

  it('saves and loads a key as PKCS#8 PEM, and refuses a key of another type', () => {
    const signer = generateSigner();
    const loaded = signerFromPem(privateKeyPem(signer));
    expect(loaded.publicKey).toEqual(signer.publicKey);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signerFromPem(rsa.export({ format: 'pem', type: 'pkcs8' }).toString())).toThrow(
      /not an Ed25519 private key/,
    );
  });
});
