import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type Signer, type Verifier } from '@p2psp/wire';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 section 4): the raw key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A source's key pair on `node:crypto`; `privateKey` is there to be saved (`--key FILE`). */
export interface Ed25519Signer extends Signer {
  readonly privateKey: KeyObject;
}

function signerOf(privateKey: KeyObject): Ed25519Signer {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`not an Ed25519 private key (${privateKey.asymmetricKeyType})`);
  }
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  return {
    privateKey,
    publicKey,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/** A fresh key pair (a source without `--key` makes one at each start). */
export function generateSigner(): Ed25519Signer {
  return signerOf(generateKeyPairSync('ed25519').privateKey);
}

/**
 * The key pair of a PKCS#8 PEM private key, as `openssl genpkey -algorithm ed25519` writes
 * it and `privateKeyPem` below. Throws on anything else.
 */
export function signerFromPem(pem: string): Ed25519Signer {
  return signerOf(createPrivateKey({ key: pem, format: 'pem' }));
}

/** The PKCS#8 PEM of a signer's private key, for a key file. */
export function privateKeyPem(signer: Ed25519Signer): string {
  return signer.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * Ed25519 verification on `node:crypto`. Members check everything under one source key:
 * its `KeyObject` is built once and kept until another key comes.
 */
export function createVerifier(): Verifier {
  let cachedKey: Uint8Array | null = null;
  let cachedObject: KeyObject | null = null;
  return {
    verify(publicKey, message, signature) {
      if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) {
        return false;
      }
      if (cachedKey === null || !Buffer.from(cachedKey).equals(publicKey)) {
        cachedObject = createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, publicKey]),
          format: 'der',
          type: 'spki',
        });
        cachedKey = publicKey.slice();
      }
      try {
        return verify(null, message, cachedObject!, signature);
      } catch {
        return false;
      }
    },
  };
}
