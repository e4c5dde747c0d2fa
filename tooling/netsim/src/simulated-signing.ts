import { createHash } from 'node:crypto';
import type { Signer, Verifier } from '@p2psp/wire';

/**
 * The simulator's stand-in for Ed25519: the same sizes (32-byte key, 64-byte signature),
 * deterministic per seed, and one SHA-512 per signature or check instead of curve
 * arithmetic (a 1,000-peer run checks about a million credentials). The "signature" is
 * SHA-512 of the public key and the message, so it proves nothing against an adversary
 * who knows the key: the simulated peers never forge one; the loopback adversary suite
 * (apps/cli/test/adversary) runs the real Ed25519.
 */
export function simulatedSigner(seed: number): Signer {
  const publicKey = new Uint8Array(
    createHash('sha256').update(`p2psp simulated source key ${seed}`).digest(),
  );
  return { publicKey, sign: (message) => simulatedSignature(publicKey, message) };
}

export const simulatedVerifier: Verifier = {
  verify(publicKey, message, signature) {
    if (signature.length !== 64) return false;
    const expected = simulatedSignature(publicKey, message);
    return expected.every((byte, index) => byte === signature[index]);
  },
};

function simulatedSignature(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(publicKey).update(message).digest());
}
