/**
 * Signatures the source makes and members check (Ed25519, RFC 8032): membership
 * credentials and signed chunks. The cores stay sans-IO and browser-clean: the runtime
 * passes these in (`@p2psp/host`'s `node:crypto` ones; the simulator its own).
 */

/** An Ed25519 public key (RFC 8032 section 5.1.5). */
export const PUBLIC_KEY_BYTES = 32;
/** An Ed25519 signature (RFC 8032 section 5.1.6). */
export const SIGNATURE_BYTES = 64;

/** The source's key pair: the private half stays inside `sign`. */
export interface Signer {
  /** The `PUBLIC_KEY_BYTES` members check signatures with (sent in the join accept). */
  readonly publicKey: Uint8Array;
  /** A `SIGNATURE_BYTES` signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** Checks signatures under a public key learnt at run time (the accept's `sourceKey`). */
export interface Verifier {
  /** True when `signature` is `publicKey`'s signature of `message`; never throws. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}
