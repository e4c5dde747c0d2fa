import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { StunClientCore, type StunClientOutput } from './stun-client.js';
import { decodeStunMessage, encodeStunMessage, STUN_METHOD_BINDING } from './stun-message.js';

const server = { address: '192.0.2.10', port: 3478 };

/** Runs the core on a virtual clock, never answering; returns the send instants and the end. */
function runUnanswered(core: StunClientCore, start = 0) {
  const sends: number[] = [];
  let end: { at: number; output: StunClientOutput } | undefined;
  let now = start;
  const drain = () => {
    for (let output = core.pollOutput(); output; output = core.pollOutput()) {
      if (output.type === 'send-datagram') sends.push(now);
      else end = { at: now, output };
    }
  };
  drain();
  for (let steps = 0; steps < 100 && !end; steps++) {
    const next = core.pollTimeout();
    if (next === undefined) break;
    now = next;
    core.handleTimeout(now);
    drain();
  }
  return { sends, end };
}

function answer(request: Uint8Array): Uint8Array {
  const decoded = decodeStunMessage(request);
  if (!decoded.ok) throw new Error('request did not decode');
  return encodeStunMessage({
    method: STUN_METHOD_BINDING,
    messageClass: 'success-response',
    transactionId: decoded.message.transactionId,
    attributes: [
      { type: 'xor-mapped-address', endpoint: { address: '198.51.100.7', port: 40000 } },
    ],
  });
}

describe('STUN client transaction (RFC 8489 §6.2.1)', () => {
  it('default schedule: 7 requests at 0, 500, 1500, 3500, 7500, 15500, 31500; gives up at 39500', () => {
    const core = new StunClientCore({ random: createRandom(1) });
    core.start({ to: server }, 0);
    const { sends, end } = runUnanswered(core);
    expect(sends).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(end?.at).toBe(39500);
    expect(end?.output.type === 'transaction-end' && end.output.result.ok).toBe(false);
    if (end?.output.type === 'transaction-end' && !end.output.result.ok) {
      expect(end.output.result.error.code).toBe('P2PSP_ERR_STUN_TIMEOUT');
      expect(end.output.result.error.requestsSent).toBe(7);
    }
  });

  it('RTO, Rc and Rm are configurable', () => {
    const core = new StunClientCore({
      random: createRandom(1),
      rto: 100,
      maxRequests: 3,
      lastWaitFactor: 4,
    });
    core.start({ to: server }, 1000);
    const { sends, end } = runUnanswered(core, 1000);
    expect(sends).toEqual([1000, 1100, 1300]);
    expect(end?.at).toBe(1700);
  });

  it('matches the answer by transaction id even from another address (RFC 5780), and stops retransmitting', () => {
    const core = new StunClientCore({ random: createRandom(2) });
    const key = core.start({ to: server, socket: 3 }, 0);
    const sent = core.pollOutput();
    if (sent?.type !== 'send-datagram') throw new Error('expected a send');
    expect(sent.socket).toBe(3);
    core.handleTimeout(500); // one retransmission
    expect(core.pollOutput()?.type).toBe('send-datagram');
    const otherAddress = { address: '192.0.2.11', port: 3479 };
    expect(core.handleDatagram(answer(sent.bytes), otherAddress, 700, 3)).toBe(true);
    const end = core.pollOutput();
    expect(end?.type).toBe('transaction-end');
    if (end?.type === 'transaction-end' && end.result.ok) {
      expect(end.transaction).toBe(key);
      expect(end.result.from).toEqual(otherAddress);
      expect(end.result.requestsSent).toBe(2);
      expect(end.result.elapsed).toBe(700);
    } else {
      throw new Error('expected success');
    }
    expect(core.pollTimeout()).toBeUndefined();
  });

  it('lets non-STUN datagrams and unknown transactions through to the caller', () => {
    const core = new StunClientCore({ random: createRandom(3) });
    core.start({ to: server }, 0);
    const sent = core.pollOutput();
    if (sent?.type !== 'send-datagram') throw new Error('expected a send');
    expect(core.handleDatagram(new Uint8Array([0x80, 1, 2, 3]), server, 1)).toBe(false);
    const stranger = answer(sent.bytes).slice();
    stranger[10] = stranger[10]! ^ 0xff; // another transaction id (FINGERPRINT then fails too)
    expect(core.handleDatagram(stranger, server, 1)).toBe(false);
    // The right answer on the wrong socket is not ours either.
    expect(core.handleDatagram(answer(sent.bytes), server, 1, 1)).toBe(false);
    expect(core.handleDatagram(answer(sent.bytes), server, 1, 0)).toBe(true);
  });

  it('reports an error response with its code', () => {
    const core = new StunClientCore({ random: createRandom(4) });
    core.start({ to: server }, 0);
    const sent = core.pollOutput();
    if (sent?.type !== 'send-datagram') throw new Error('expected a send');
    const decoded = decodeStunMessage(sent.bytes);
    if (!decoded.ok) throw new Error('bad request');
    const error = encodeStunMessage({
      method: STUN_METHOD_BINDING,
      messageClass: 'error-response',
      transactionId: decoded.message.transactionId,
      attributes: [{ type: 'error-code', code: 420, reason: 'Unknown Attribute' }],
    });
    expect(core.handleDatagram(error, server, 5)).toBe(true);
    const end = core.pollOutput();
    expect(end?.type === 'transaction-end' && !end.result.ok && end.result.error.message).toBe(
      'STUN error response 420 Unknown Attribute',
    );
  });

  it('refuses bad options with a message naming the option', () => {
    expect(() => new StunClientCore({ random: createRandom(1), rto: 0 })).toThrow(/rto/);
    expect(() => new StunClientCore({ random: createRandom(1), maxRequests: 0 })).toThrow(
      /maxRequests/,
    );
  });
});
