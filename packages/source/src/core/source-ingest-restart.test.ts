import { type CoreOutput, createRandom, decodeDatagram, drainOutputs } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import type { StreamHeaderSplitter } from './source-config.js';
import { SourceCore } from './source-core.js';
import { createSource, framesWritten, requestJoin, sendHello } from './source-core.test-helpers.js';

// Regression: after an Icecast restart the Ogg mount is a new logical stream (new serial
// numbers, new header pages), but the source kept the first header for later joiners, whose
// players then could not decode ("Cannot identify new stream").

const HEADER_BYTES = 8;

/** A splitter that takes the first 8 bytes of each connection as the header. */
function eightByteSplitter(): StreamHeaderSplitter {
  let captured = new Uint8Array(0);
  return {
    get header() {
      return captured.length >= HEADER_BYTES ? captured : null;
    },
    push(bytes) {
      const need = HEADER_BYTES - captured.length;
      if (need <= 0) return bytes;
      const joined = new Uint8Array(captured.length + Math.min(need, bytes.length));
      joined.set(captured);
      joined.set(bytes.subarray(0, need), captured.length);
      captured = joined;
      return bytes.subarray(Math.min(need, bytes.length));
    },
    restart() {
      captured = new Uint8Array(0);
    },
  };
}

function chunkPayloads(outputs: CoreOutput[]): Uint8Array[] {
  return outputs.flatMap((output) => {
    if (output.type !== 'send-datagram') return [];
    const decoded = decodeDatagram(output.bytes);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    return decoded.message.type === 'chunk' ? [decoded.message.payload] : [];
  });
}

/** A joiner from 10.0.0.9 (TCP port = its connection number) asks to join. */
function requestJoinFrom(core: SourceCore, connection: number, now: number): void {
  requestJoin(core, connection, { address: '10.0.0.9', port: connection }, now);
}

const filled = (length: number, value: number) => new Uint8Array(length).fill(value);

describe('SourceCore after ingest-restart (a reconnected ingest starts a new stream)', () => {
  it('re-captures the header, gives joiners the new one, and sends it to players as data', () => {
    const core = createSource({ header: { splitter: eightByteSplitter() } });
    // First connection: header 0x01 x 8, then media 0x11.
    core.handle({ type: 'ingest-data', bytes: filled(HEADER_BYTES, 0x01) }, 0);
    requestJoinFrom(core, 1, 0);
    const first = framesWritten(drainOutputs(core), 1)[0];
    expect(first).toMatchObject({ type: 'join-accept', header: filled(HEADER_BYTES, 0x01) });
    if (first?.type !== 'join-accept') return;
    sendHello(core, { address: '10.0.0.9', port: 5000 }, first.memberId, 1, 0);
    core.handle({ type: 'ingest-data', bytes: filled(32, 0x11) }, 1);
    drainOutputs(core);

    // The ingest reconnects: a joiner now waits for the new connection's header...
    core.handle({ type: 'ingest-restart', reason: 'ingest reconnected' }, 2);
    expect(drainOutputs(core)).toContainEqual({
      type: 'event',
      event: expect.objectContaining({ name: 'ingest-restart' }),
    });
    expect(core.header()).toBeNull();
    requestJoinFrom(core, 2, 2);
    expect(framesWritten(drainOutputs(core), 2)).toEqual([]);
    core.handle({ type: 'ingest-data', bytes: filled(5, 0x02) }, 3);
    expect(framesWritten(drainOutputs(core), 2)).toEqual([]);

    // ...and gets it once complete; the header also follows the old media as chunk data.
    core.handle({ type: 'ingest-data', bytes: Uint8Array.of(2, 2, 2, ...filled(100, 0x22)) }, 4);
    const outputs = drainOutputs(core);
    expect(framesWritten(outputs, 2)[0]).toMatchObject({
      type: 'join-accept',
      header: filled(HEADER_BYTES, 0x02),
    });
    expect(outputs).toContainEqual({
      type: 'event',
      event: expect.objectContaining({
        name: 'header-capture',
        fields: { bytes: HEADER_BYTES, restart: true },
      }),
    });
    expect(core.header()).toEqual(filled(HEADER_BYTES, 0x02));
    const [chunk] = chunkPayloads(outputs);
    expect(chunk).toEqual(
      Uint8Array.of(...filled(32, 0x11), ...filled(HEADER_BYTES, 0x02), ...filled(24, 0x22)),
    );
  });

  it('keeps the header when the splitter cannot restart, and sends nothing extra', () => {
    const fixed = filled(HEADER_BYTES, 0x07);
    const core = new SourceCore({
      random: createRandom(1),
      chunkSize: 64,
      header: { header: fixed },
    });
    core.handle({ type: 'ingest-restart', reason: 'ingest reconnected' }, 0);
    drainOutputs(core);
    expect(core.header()).toEqual(fixed);
    requestJoinFrom(core, 1, 1);
    expect(framesWritten(drainOutputs(core), 1)[0]).toMatchObject({
      type: 'join-accept',
      header: fixed,
    });
  });
});
