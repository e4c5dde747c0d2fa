export { chunkNumberAfter, chunkNumberDistance, nextChunkNumber } from './chunk-number.js';
export { decodeDatagram, encodeDatagram, peerListReplies } from './datagram-codec.js';
export {
  DECODE_ERROR_CODES,
  type DecodeError,
  type DecodeErrorCode,
  type DecodeResult,
} from './decode-result.js';
export { type Endpoint, formatEndpoint, sameEndpoint } from './endpoint.js';
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
  PEER_LIST_PAGE_SIZE,
} from './format.js';
export { decodeFrame, encodeFrame, FrameDecoder, type FrameOptions } from './frame-codec.js';
export * from './messages.js';
export { OutputQueue } from './output-queue.js';
export { createRandom } from './random.js';
export type {
  ConnectionId,
  CoreEvent,
  CoreInput,
  CoreOutput,
  Instant,
  Random,
  SansIoCore,
} from './sans-io.js';
export { WireError, type WireErrorCode } from './wire-error.js';
