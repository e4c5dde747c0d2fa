import {
  createRandom,
  decodeDatagram,
  drainOutputs,
  type Endpoint,
  encodeDatagram,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { join as joinMember } from '../src/core/source-core.test-helpers.js';
import { SourceCore } from '../src/index.js';

const secret = new TextEncoder().encode('secret');

/** Joins as a monitor (with the credential) or as a peer; returns the member id. */
function join(core: SourceCore, connection: number, udp: Endpoint, role: 'peer' | 'monitor') {
  const request = role === 'monitor' ? { role, credential: secret } : {};
  return joinMember(core, connection, udp, 0, request).accept.memberId;
}

/**
 * Only monitors complain (rule 8). A [lost chunk] from an ordinary member is not
 * charged to anyone: it is ignored and counted, as the source's status shows.
 */

describe('complaints from non-monitors (rule 8)', () => {
  it('are ignored, counted as not-monitor, and charge nobody', () => {
    const core = new SourceCore({
      random: createRandom(3),
      chunkSize: 64,
      bufferSize: 8,
      monitorCredential: secret,
    });
    const monitor = { address: '10.0.0.1', port: 5000 };
    const member = { address: '10.0.0.2', port: 5000 };
    const other = { address: '10.0.0.3', port: 5000 };
    const monitorId = join(core, 1, monitor, 'monitor');
    const memberId = join(core, 2, member, 'peer');
    const otherId = join(core, 3, other, 'peer');
    expect(core.members().map((view) => [view.memberId, view.role])).toEqual([
      [monitorId, 'monitor'],
      [memberId, 'member'],
      [otherId, 'member'],
    ]);
    // Six chunks, round robin (rule 1): the destinations are known to the source.
    core.handle({ type: 'ingest-data', bytes: new Uint8Array(6 * 64) }, 10);
    const sent = drainOutputs(core).flatMap((output) => {
      if (output.type !== 'send-datagram') return [];
      const decoded = decodeDatagram(output.bytes);
      return decoded.ok && decoded.message.type === 'chunk'
        ? [{ to: output.to, chunkNumber: decoded.message.chunkNumber }]
        : [];
    });
    const toOther = sent.find((chunk) => chunk.to.address === other.address)!;
    const complain = (from: Endpoint, complainer: number) =>
      core.handle(
        {
          type: 'datagram',
          from,
          bytes: encodeDatagram({
            type: 'lost-chunk',
            memberId: complainer,
            chunkNumber: toOther.chunkNumber,
          }),
        },
        20,
      );
    // A member bad-mouths another: not a monitor, so not charged.
    complain(member, memberId);
    complain(member, memberId);
    expect(core.stats().complaintsReceived).toBe(2);
    expect(core.cluster.ledger.ignored['not-monitor']).toBe(2);
    expect(core.members().find((view) => view.memberId === otherId)!.complaints).toBe(0);
    // The monitor's complaint about the same chunk is charged to its destination.
    complain(monitor, monitorId);
    expect(core.members().find((view) => view.memberId === otherId)!.complaints).toBe(1);
    expect(core.cluster.ledger.ignored['not-monitor']).toBe(2);
    expect(core.stats().complaintsReceived).toBe(3);
  });
});
