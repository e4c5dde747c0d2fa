import { DecodeFailure, type DecodeResult, failureFrom } from './decode-result.js';
import { Reader, Writer, writeMemberInfo, writeU32 } from './fields.js';
import type { MemberInfo } from './messages.js';
import { SIGNATURE_BYTES, type Signer } from './signing.js';
import { encodeError } from './wire-error.js';

/**
 * A membership credential: the source's signed word that a member is who and where it
 * says (docs/security.md). The source hands it to each member in the hello-ack that
 * completes its join, since only then does it see the member's UDP endpoint; the member
 * shows it in its hellos, so members the source did not list to it take it as a neighbour
 * without the source introducing it to each of them.
 *
 * Layout (README "membership credential"): expiresAt u32, a member entry (13 to 46 bytes:
 * id, flags, the endpoint the source sees, its own endpoint, its NAT), an Ed25519
 * signature (64) over `CREDENTIAL_CONTEXT` and the bytes before it.
 */
export interface MembershipCredential {
  /** The member as the source lists it: id, role flags, endpoint, private endpoint, NAT. */
  readonly member: MemberInfo;
  /**
   * The first chunk number at which it is no longer valid (RFC 1982): expiry on the
   * stream's clock, which every member follows from the source's chunks, not wall time.
   */
  readonly expiresAt: number;
  readonly signature: Uint8Array;
}

/** The largest credential: 4 + the largest member entry (46) + 64. */
export const MAX_MEMBERSHIP_CREDENTIAL_BYTES = 4 + 46 + SIGNATURE_BYTES;

/** Domain separation (RFC 8032 signs raw bytes): a credential's signature signs nothing else. */
const CREDENTIAL_CONTEXT = new TextEncoder().encode('p2psp membership credential\n');

/** The bytes a credential's signature covers. */
function signedBytes(body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(CREDENTIAL_CONTEXT.length + body.length);
  bytes.set(CREDENTIAL_CONTEXT);
  bytes.set(body, CREDENTIAL_CONTEXT.length);
  return bytes;
}

/** The source signs a credential for `member`, valid until chunk `expiresAt`. */
export function signCredential(signer: Signer, member: MemberInfo, expiresAt: number): Uint8Array {
  const writer = new Writer();
  writeU32(writer, expiresAt, 'credential.expiresAt');
  writeMemberInfo(writer, member, 'credential.member');
  const body = writer.finish();
  const signature = signer.sign(signedBytes(body));
  if (signature.length !== SIGNATURE_BYTES) {
    throw encodeError('credential.signature', `must be ${SIGNATURE_BYTES} bytes (Ed25519)`);
  }
  const credential = new Uint8Array(body.length + SIGNATURE_BYTES);
  credential.set(body);
  credential.set(signature, body.length);
  return credential;
}

/** Decodes a credential's fields (its signature unchecked: `credentialSignedBytes`). Never throws. */
export function decodeCredential(bytes: Uint8Array): DecodeResult<MembershipCredential> {
  try {
    if (bytes.length > MAX_MEMBERSHIP_CREDENTIAL_BYTES) {
      throw new DecodeFailure(
        'bad-length',
        `credential: ${bytes.length} bytes, at most ${MAX_MEMBERSHIP_CREDENTIAL_BYTES}`,
      );
    }
    const reader = new Reader(bytes, 0);
    const expiresAt = reader.u32('credential.expiresAt');
    const member = reader.memberInfo('credential.member');
    const signature = reader.subarray(SIGNATURE_BYTES, 'credential.signature');
    reader.end('credential');
    return { ok: true, message: { member, expiresAt, signature } };
  } catch (thrown) {
    return failureFrom(thrown);
  }
}

/** What the signature of a decoded `credential` (its bytes) covers: check it with a `Verifier`. */
export function credentialSignedBytes(credential: Uint8Array): Uint8Array {
  return signedBytes(credential.subarray(0, credential.length - SIGNATURE_BYTES));
}
