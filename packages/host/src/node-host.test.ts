import dgram from 'node:dgram';
import net from 'node:net';
import type { CoreInput, CoreOutput, Instant, SansIoCore } from '@p2psp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { type NodeHost, startNodeHost } from './node-host.js';

/**
 * A tiny core for driving the host: echoes datagrams and TCP bytes back, connects where a
 * datagram `connect:PORT` says, fires a timer 20 ms after each datagram, and stops on `stop`.
 */
class EchoCore implements SansIoCore {
  readonly inputs: CoreInput[] = [];
  readonly timeouts: Instant[] = [];
  private readonly outputs: CoreOutput[] = [];
  private deadline: Instant | undefined;
  private nextConnection = -1;

  handle(input: CoreInput, now: Instant): void {
    this.inputs.push(input);
    if (input.type === 'datagram') {
      const text = Buffer.from(input.bytes).toString();
      if (text.startsWith('connect:')) {
        this.outputs.push({
          type: 'connect',
          connection: this.nextConnection--,
          to: { address: '127.0.0.1', port: Number(text.slice(8)) },
        });
        return;
      }
      this.outputs.push({ type: 'send-datagram', to: input.from, bytes: input.bytes });
      this.deadline = now + 20;
    } else if (input.type === 'connection-data') {
      this.outputs.push({ type: 'write', connection: input.connection, bytes: input.bytes });
      if (Buffer.from(input.bytes).toString() === 'bye') {
        this.outputs.push({ type: 'close', connection: input.connection, reason: 'asked' });
      }
    } else if (input.type === 'connection-open' && input.connection < 0) {
      this.outputs.push({
        type: 'write',
        connection: input.connection,
        bytes: Buffer.from('hello from core'),
      });
    } else if (input.type === 'stop') {
      this.outputs.push({ type: 'stopped', reason: 'asked' });
    }
  }

  handleTimeout(now: Instant): void {
    this.timeouts.push(now);
    this.deadline = undefined;
    this.outputs.push({
      type: 'event',
      event: { name: 'timer-fire', level: 'debug', fields: { now } },
    });
  }

  pollTimeout(): Instant | undefined {
    return this.deadline;
  }

  pollOutput(): CoreOutput | undefined {
    return this.outputs.shift();
  }
}

const hosts: NodeHost<EchoCore>[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

async function until(condition: () => boolean, limitMs = 5_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > limitMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startEcho(withTcp: boolean) {
  const events: string[] = [];
  const host = await startNodeHost({
    createCore: () => new EchoCore(),
    udp: { address: '127.0.0.1', port: 0 },
    ...(withTcp ? { tcp: { address: '127.0.0.1', port: 0 } } : {}),
    onEvent: (event) => events.push(event.name),
  });
  hosts.push(host);
  return { host, events };
}

describe('startNodeHost', () => {
  it('feeds datagrams to the core, sends its datagrams and fires its timer', async () => {
    const { host, events } = await startEcho(false);
    const client = dgram.createSocket('udp4');
    const replies: string[] = [];
    client.on('message', (bytes) => replies.push(bytes.toString()));
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    client.send('ping', host.binding.udp.port, '127.0.0.1');
    await until(() => replies.length === 1 && events.includes('timer-fire'));
    expect(replies).toEqual(['ping']);
    expect(host.counters.datagramsReceived).toBe(1);
    expect(host.counters.datagramsSent).toBe(1);
    // The timer fired at or after the deadline the core asked for.
    const datagramInput = host.core.inputs.find((input) => input.type === 'datagram');
    expect(datagramInput).toBeDefined();
    expect(host.core.timeouts).toHaveLength(1);
    client.close();
  });

  it('accepts TCP connections with positive ids, echoes, and closes when the core says', async () => {
    const { host } = await startEcho(true);
    const socket = net.connect(host.binding.tcp!.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (bytes) => received.push(bytes));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('abc');
    await until(() => Buffer.concat(received).toString() === 'abc');
    socket.write('bye');
    await ended;
    expect(Buffer.concat(received).toString()).toBe('abcbye');
    const open = host.core.inputs.find((input) => input.type === 'connection-open');
    expect(open?.type === 'connection-open' && open.connection).toBe(1);
    expect(host.counters.connectionsAccepted).toBe(1);
  });

  it('opens the connections the core asks for (negative ids) and reports their end', async () => {
    const { host } = await startEcho(false);
    const received: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on('data', (bytes) => {
        received.push(bytes);
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const client = dgram.createSocket('udp4');
    client.send(`connect:${port}`, host.binding.udp.port, '127.0.0.1');
    await until(() => host.core.inputs.some((input) => input.type === 'connection-closed'));
    expect(Buffer.concat(received).toString()).toBe('hello from core');
    const open = host.core.inputs.find((input) => input.type === 'connection-open');
    expect(open?.type === 'connection-open' && open.connection).toBe(-1);
    client.close();
    server.close();
  });

  it('reports a refused connection as closed instead of throwing', async () => {
    const { host } = await startEcho(false);
    // A port nobody listens on: bind a server, note its port, close it.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const client = dgram.createSocket('udp4');
    client.send(`connect:${port}`, host.binding.udp.port, '127.0.0.1');
    await until(() => host.core.inputs.some((input) => input.type === 'connection-closed'));
    const closed = host.core.inputs.find((input) => input.type === 'connection-closed');
    expect(closed?.type === 'connection-closed' && closed.reason).toBe('ECONNREFUSED');
    expect(host.counters.connectionErrors).toBe(1);
    client.close();
  });

  it('stops through the core and closes its sockets', async () => {
    const { host } = await startEcho(true);
    await host.stop();
    expect(host.closed).toBe(true);
    expect(host.core.inputs.at(-1)?.type).toBe('stop');
    // The port is free again.
    const server = net.createServer();
    await new Promise<void>((resolve) =>
      server.listen(host.binding.tcp!.port, '127.0.0.1', resolve),
    );
    server.close();
  });

  it('refuses a port already in use with the system error', async () => {
    const { host } = await startEcho(true);
    await expect(
      startNodeHost({
        createCore: () => new EchoCore(),
        udp: { address: '127.0.0.1', port: 0 },
        tcp: { address: '127.0.0.1', port: host.binding.tcp!.port },
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('startNodeHost TCP backpressure', () => {
  /** Writes 16 MiB at once to every connection it accepts. */
  class FloodCore extends EchoCore {
    private readonly queued: CoreOutput[] = [];
    override handle(input: CoreInput, now: Instant): void {
      super.handle(input, now);
      if (input.type === 'connection-open') {
        for (let index = 0; index < 256; index += 1) {
          this.queued.push({
            type: 'write',
            connection: input.connection,
            bytes: new Uint8Array(64 * 1024),
          });
        }
      }
    }
    override pollOutput(): CoreOutput | undefined {
      return this.queued.shift() ?? super.pollOutput();
    }
  }

  it('gives up a connection whose reader does not read, and tells the core', async () => {
    const host = await startNodeHost({
      createCore: () => new FloodCore(),
      udp: { address: '127.0.0.1', port: 0 },
      tcp: { address: '127.0.0.1', port: 0 },
      maxQueuedWriteBytes: 256 * 1024,
    });
    hosts.push(host);
    const socket = net.connect(host.binding.tcp!.port, '127.0.0.1');
    socket.pause(); // never reads
    socket.on('error', () => {});
    await until(() => host.core.inputs.some((input) => input.type === 'connection-closed'));
    expect(host.counters.connectionsDroppedBackpressure).toBe(1);
    // Bounded: far less than the 16 MiB the core wanted to write was accepted.
    expect(host.counters.tcpBytesSent).toBeLessThan(16 * 1024 * 1024);
    socket.destroy();
  });
});

describe('startNodeHost over IPv6', () => {
  it('serves IPv6 and, bound to ::, IPv4 clients (their addresses unmapped)', async (context) => {
    let host: NodeHost<EchoCore>;
    try {
      host = await startNodeHost({
        createCore: () => new EchoCore(),
        udp: { address: '::', port: 0 },
      });
    } catch {
      context.skip('no IPv6 on this machine');
      return;
    }
    hosts.push(host);
    for (const [type, address] of [
      ['udp6', '::1'],
      ['udp4', '127.0.0.1'],
    ] as const) {
      const client = dgram.createSocket(type);
      const replies: string[] = [];
      client.on('message', (bytes) => replies.push(bytes.toString()));
      await new Promise<void>((resolve) => client.bind(0, address, resolve));
      client.send(`ping ${type}`, host.binding.udp.port, address);
      await until(() => replies.length === 1);
      expect(replies).toEqual([`ping ${type}`]);
      client.close();
    }
    const fromAddresses = host.core.inputs.flatMap((input) =>
      input.type === 'datagram' ? [input.from.address] : [],
    );
    expect(fromAddresses).toEqual(['::1', '127.0.0.1']);
  });
});
