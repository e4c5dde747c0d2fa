export { concatBytes } from './bytes.js';
export { MEDIA_ERROR_CODES, MediaError, type MediaErrorCode } from './errors.js';
export {
  createHeaderCapture,
  type HeaderCapture,
  type HeaderCaptureOptions,
  type HeaderCaptureStatus,
} from './header-capture.js';
export { ICY_METAINT, IcyInterleaver, IcyMetadataStripper, icyMetadataBlock } from './icy.js';
export {
  type DetectedMediaType,
  detectMediaType,
  type MediaKind,
  type MediaTypeHints,
  mimeTypeOf,
} from './media-type.js';
export {
  createPacer,
  type PacedPiece,
  type Pacer,
  type PacerCreation,
  type PacerOptions,
  type PieceRole,
} from './pacer.js';
export { createSilence, type Silence } from './silence.js';
export { createSyncScanner, findSyncPoint, type SyncScanner } from './sync-scanner.js';
