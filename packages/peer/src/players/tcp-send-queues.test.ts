import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalAddress, TcpSendQueues } from './tcp-send-queues.js';

const opened: (net.Socket | net.Server)[] = [];
afterEach(() => {
  for (const handle of opened.splice(0)) {
    if (handle instanceof net.Socket) handle.destroy();
    else handle.close();
  }
});

/** A server socket writing to a client that never reads: its kernel send queue fills. */
async function unreadConnection(host: string) {
  const server = net.createServer();
  opened.push(server);
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, host);
  client.pause();
  opened.push(client);
  const serverSide = await accepted;
  opened.push(serverSide);
  // More than the client's receive buffer takes (128 KiB by default, net.ipv4.tcp_rmem).
  serverSide.write(Buffer.alloc(1024 * 1024));
  return { port, serverSide };
}

async function ipv6Loopback(): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, '::1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

describe('TcpSendQueues', () => {
  it.each([
    ['127.0.0.1', true],
    ['::1', false],
  ])('reads the kernel send queue of a connection over %s', async (host, always) => {
    if (!always && !(await ipv6Loopback())) return;
    const { port, serverSide } = await unreadConnection(host);
    const queues = TcpSendQueues.forFamily(net.isIPv6(host) ? 'IPv6' : 'IPv4');
    let queued = 0;
    for (let attempt = 0; attempt < 100 && queued === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await queues.refresh(port);
      queued = queues.queued(serverSide);
    }
    expect(queued).toBeGreaterThan(0);
    expect(queued + serverSide.writableLength).toBeLessThanOrEqual(1024 * 1024);
  });

  it('reads 0 where the kernel has no such table (not Linux)', async () => {
    const { port, serverSide } = await unreadConnection('127.0.0.1');
    const queues = new TcpSendQueues('/nonexistent/tcp');
    await queues.refresh(port);
    expect(queues.queued(serverSide)).toBe(0);
  });

  it('spells an address one way', () => {
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe(canonicalAddress('0:0:0:0:0:ffff:7f00:1'));
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('192.0.2.7')).toBe('192.0.2.7');
  });
});
