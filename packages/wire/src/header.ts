import { DecodeFailure } from './decode-result.js';
import { hex, type Reader } from './fields.js';
import { FRAME_TYPE_CODES, TYPE_NAMES } from './format.js';
import { type MessageType, PROTOCOL_VERSION } from './messages.js';

/**
 * Reads the common header (version u8, type u8). The version is checked first, so a node of
 * another version gets `bad-version`, never a misread. A type of the other transport (a
 * frame type in a datagram or the reverse) is returned for the caller to refuse.
 */
export function readHeader(reader: Reader, transport: 'datagram' | 'frame'): MessageType {
  const version = reader.u8(`${transport} version`);
  if (version !== PROTOCOL_VERSION) {
    throw new DecodeFailure(
      'bad-version',
      `protocol version ${version}, this node speaks ${PROTOCOL_VERSION}`,
    );
  }
  const code = reader.u8(`${transport} type`);
  const type = TYPE_NAMES.get(code);
  if (type === undefined) {
    throw new DecodeFailure('unknown-type', `${transport} type 0x${hex(code)}`);
  }
  if (FRAME_TYPE_CODES.has(code) !== (transport === 'frame')) {
    throw new DecodeFailure(
      'unknown-type',
      `type 0x${hex(code)} (${type}) is not a ${transport === 'frame' ? 'TCP frame' : 'datagram'}`,
    );
  }
  return type;
}
