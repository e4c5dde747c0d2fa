import { type Endpoint, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { DatagramSender, type DatagramSocket } from './datagram-sender.js';

const to: Endpoint = { address: '127.0.0.1', port: 4552 };

const chunk = (chunkNumber: number) =>
  encodeDatagram({
    type: 'chunk',
    chunkNumber,
    origin: 1,
    flags: { nonExclusive: false, recovered: false },
    payload: new Uint8Array(1024),
    signature: new Uint8Array(0),
  });

const numberOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);

const report = encodeDatagram({ type: 'lost-chunk', memberId: 2, chunkNumber: 9 });

/**
 * A socket on a slow uplink, as libuv and the kernel behave: the kernel buffers `kernelSlots`
 * datagrams, the rest wait in the socket's send queue; each `transmit()` puts one datagram
 * on the wire, moves one from the queue into the kernel and completes its send.
 */
class SlowSocket implements DatagramSocket {
  readonly wire: Uint8Array[] = [];
  readonly #kernel: { bytes: Uint8Array; done: (error: Error | null) => void }[] = [];
  readonly #queue: { bytes: Uint8Array; done: (error: Error | null) => void }[] = [];

  constructor(private readonly kernelSlots: number) {}

  send(bytes: Uint8Array, _port: number, _address: string, done: (error: Error | null) => void) {
    const target = this.#kernel.length < this.kernelSlots ? this.#kernel : this.#queue;
    target.push({ bytes, done });
  }

  getSendQueueCount(): number {
    return this.#queue.length;
  }

  transmit(): void {
    const sent = this.#kernel.shift();
    if (sent === undefined) return;
    this.wire.push(sent.bytes);
    const next = this.#queue.shift();
    if (next) this.#kernel.push(next);
    sent.done(null);
  }

  transmitAll(): void {
    while (this.#kernel.length > 0) this.transmit();
  }
}

/** Where the report went on the wire, after 100 relays sent at once. */
function reportPosition(send: (bytes: Uint8Array) => void, socket: SlowSocket): number {
  for (let chunkNumber = 0; chunkNumber < 100; chunkNumber += 1) send(chunk(chunkNumber));
  send(report);
  socket.transmitAll();
  return socket.wire.indexOf(report);
}

describe('DatagramSender: control before relays', () => {
  it('a report sent behind 100 relays on a backed-up socket leaves after the few the socket holds, not after all 100', () => {
    const plain = new SlowSocket(4);
    const plainPosition = reportPosition(
      (bytes) => plain.send(bytes, to.port, to.address, () => {}),
      plain,
    );
    const socket = new SlowSocket(4);
    const sender = new DatagramSender(socket);
    const position = reportPosition((bytes) => sender.send(to, to.address, bytes), socket);
    console.log(`the report's place on the wire: ${plainPosition} relays before it -> ${position}`);
    expect(plainPosition).toBe(100);
    // The 4 datagrams in the kernel and the one queued in the socket when it backed up.
    expect(position).toBe(5);
    // Every relay still goes, in order.
    const relays = socket.wire.filter((bytes) => bytes !== report);
    expect(relays).toHaveLength(100);
    expect(relays.map(numberOf)).toEqual(Array.from({ length: 100 }, (_, index) => index));
  });

  it('sends everything at once, in order, while the socket keeps up', () => {
    const socket = new SlowSocket(1_000);
    const sender = new DatagramSender(socket);
    const sent = [chunk(1), report, chunk(2)];
    for (const bytes of sent) sender.send(to, to.address, bytes);
    expect(sender.held).toBe(0);
    socket.transmitAll();
    expect(socket.wire).toEqual(sent);
  });

  it('sheds the oldest held chunks past its bound, and counts them', () => {
    const socket = new SlowSocket(1);
    let shed = 0;
    const sender = new DatagramSender(socket, { maxHeldChunks: 10, onShed: () => shed++ });
    for (let chunkNumber = 0; chunkNumber < 100; chunkNumber += 1) {
      sender.send(to, to.address, chunk(chunkNumber));
    }
    expect(sender.held).toBe(10);
    expect(shed).toBe(88);
    socket.transmitAll();
    // The one in the kernel, the one queued in the socket, then the 10 newest.
    expect(socket.wire.map(numberOf)).toEqual([0, 1, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });
});
