export {
  CHUNK_HASH_BYTES,
  type ChunkDigest,
  chunkDigestBytes,
  chunkDigestCount,
  chunkDigestSignedBytes,
  chunkHash,
  decodeChunkDigest,
  encodeChunkDigest,
  MAX_DIGEST_CHUNKS,
  type Sha256,
} from './chunk-digest.js';
export { chunkNumberAfter, chunkNumberDistance, nextChunkNumber } from './chunk-number.js';
export {
  CoreContext,
  type CoreContextOptions,
  type DatagramDropEvent,
} from './core-context.js';
export {
  decodeDatagram,
  encodeDatagram,
  isControlDatagram,
  peerListReplies,
} from './datagram-codec.js';
export {
  DECODE_ERROR_CODES,
  type DecodeError,
  type DecodeErrorCode,
  type DecodeResult,
} from './decode-result.js';
export { type Endpoint, formatEndpoint, sameEndpoint, unmapIpv4 } from './endpoint.js';
export {
  CHUNK_HEADER_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_PREFIX_BYTES,
  MAX_CHUNK_PAYLOAD_FOR_MTU,
  MAX_CHUNK_PAYLOAD_FOR_MTU_IPV6,
  MAX_CREDENTIAL_BYTES,
  MAX_MEDIA_TYPE_BYTES,
  MAX_REFUSED_MESSAGE_BYTES,
  MAX_SIGNATURE_BYTES,
  MAX_STREAM_INFO_TEXT_BYTES,
  MAX_STREAM_TITLE_BYTES,
  NAT_TYPES,
  PEER_LIST_PAGE_SIZE,
  TYPE_NAMES,
} from './format.js';
export { decodeFrame, encodeFrame, FrameDecoder, type FrameOptions } from './frame-codec.js';
export {
  credentialSignedBytes,
  decodeCredential,
  MAX_MEMBERSHIP_CREDENTIAL_BYTES,
  type MembershipCredential,
  signCredential,
} from './membership-credential.js';
export * from './messages.js';
export { OutputQueue } from './output-queue.js';
export {
  errorCodes,
  P2pspError,
  type P2pspErrorCode,
  type P2pspErrorInfo,
  type P2pspErrorKind,
  type P2pspErrorOptions,
  type P2pspErrorTable,
  SHARED_ERROR_CODES,
  SHARED_ERRORS,
  type SharedErrorCode,
} from './p2psp-error.js';
export { createRandom, reconnectDelay } from './random.js';
export type {
  ConnectionId,
  CoreEvent,
  CoreInput,
  CoreOutput,
  EventFields,
  EventLevel,
  Instant,
  Random,
  SansIoCore,
} from './sans-io.js';
export { drainOutputs } from './sans-io.js';
export { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type Signer, type Verifier } from './signing.js';
export { TimerTable } from './timer-table.js';
export { WIRE_ERROR_CODES, WireError, type WireErrorCode } from './wire-error.js';
