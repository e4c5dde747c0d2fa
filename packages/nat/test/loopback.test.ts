import { createSocket, type Socket } from 'node:dgram';
import { encodeDatagram } from '@p2psp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { answerStunDatagram, isStunDatagram, mappedEndpointOf } from '../src/index.js';
import {
  detectNat,
  punchHole,
  type RunningStunServer,
  startStunServer,
  UdpStunClient,
} from '../src/node/index.js';

// Real sockets on loopback only (Linux routes all of 127/8 to lo). Every loop is bounded by
// the STUN and punch retransmission limits; everything is closed after each test.
const sockets: Socket[] = [];
const servers: RunningStunServer[] = [];

async function bound(address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  return socket;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(
    sockets
      .splice(0)
      .map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
  );
});

const fast = { rto: 100, maxRequests: 4, lastWaitFactor: 4 };

describe('detector against our RFC 5780 server on 127.0.0.1 / 127.0.0.2', () => {
  it('reports open internet with endpoint-independent mapping and filtering', async () => {
    const server = await startStunServer({
      address: '127.0.0.1',
      alternateAddress: '127.0.0.2',
      port: 0,
      alternatePort: 0,
    });
    servers.push(server);
    expect(server.endpoints).toHaveLength(4);
    const socket = await bound();
    const result = await detectNat({
      server: server.endpoints[0]!,
      socket,
      localAddress: '127.0.0.1',
      retransmission: fast,
    });
    expect(result.report.type).toBe('open');
    expect(result.natPresent).toBe(false);
    expect(result.mapping).toBe('endpoint-independent');
    expect(result.filtering).toBe('endpoint-independent');
    expect(result.report.mappedEndpoint).toEqual({
      address: '127.0.0.1',
      port: socket.address().port,
    });
    expect(result.otherAddress).toEqual(server.endpoints[3]);
    expect(result.filteringTests.changeAddressAndPort.answered).toBe(true);
    expect(server.counters.requests).toBeGreaterThanOrEqual(5);
  });

  it('a plain server (no alternate address) still gives the mapped endpoint and a warning', async () => {
    const server = await startStunServer({ address: '127.0.0.1', port: 0 });
    servers.push(server);
    const result = await detectNat({
      server: server.endpoints[0]!,
      localAddress: '127.0.0.1',
      retransmission: fast,
    });
    expect(result.report.type).toBe('open');
    expect(result.warning).toMatch(/OTHER-ADDRESS/);
  });

  it('nobody listening is UDP blocked, within the retransmission bound', async () => {
    const silent = await bound();
    const server = { address: '127.0.0.1', port: silent.address().port };
    const result = await detectNat({
      server,
      localAddress: '127.0.0.1',
      freshSockets: 0,
      retransmission: { rto: 50, maxRequests: 3, lastWaitFactor: 2 },
      attempts: 2,
    });
    expect(result.report.type).toBe('udp-blocked');
    expect(result.requestsSent).toBe(6);
  });
});

describe('STUN client on a socket shared with the stream', () => {
  it('consumes its answers and leaves other datagrams to the caller', async () => {
    const server = await startStunServer({ address: '127.0.0.1', port: 0 });
    servers.push(server);
    const socket = await bound();
    const callerSaw: Buffer[] = [];
    socket.on('message', (bytes) => {
      if (!isStunDatagram(bytes)) callerSaw.push(bytes);
    });
    const client = new UdpStunClient(socket, fast);
    const peer = await bound();
    const streamDatagram = encodeDatagram({ type: 'hello', memberId: 5, nonce: 9 });
    peer.send(streamDatagram, socket.address().port, '127.0.0.1');
    const result = await client.request(server.endpoints[0]!);
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(mappedEndpointOf(result.response)).toEqual({
        address: '127.0.0.1',
        port: socket.address().port,
      });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(callerSaw.map((bytes) => [...bytes])).toEqual([[...streamDatagram]]);
    client.close();
  });

  it('works over IPv6 (::1)', async (context) => {
    let server: RunningStunServer;
    try {
      server = await startStunServer({ address: '::1', port: 0 });
    } catch {
      context.skip('no IPv6 loopback on this host');
      return;
    }
    servers.push(server);
    const socket = await bound('::1');
    const client = new UdpStunClient(socket, fast);
    const result = await client.request(server.endpoints[0]!);
    expect(result.ok && mappedEndpointOf(result.response)).toEqual({
      address: '::1',
      port: socket.address().port,
    });
    client.close();
  });

  it('answerStunDatagram lets a node answer STUN on its own cluster socket', async () => {
    const cluster = await bound();
    cluster.on('message', (bytes, rinfo) => {
      const reply = answerStunDatagram(bytes, { address: rinfo.address, port: rinfo.port });
      if (reply) cluster.send(reply, rinfo.port, rinfo.address);
    });
    const socket = await bound();
    const client = new UdpStunClient(socket, fast);
    const result = await client.request({ address: '127.0.0.1', port: cluster.address().port });
    expect(result.ok && mappedEndpointOf(result.response)?.port).toBe(socket.address().port);
    client.close();
  });
});

describe('hole punching on loopback sockets', () => {
  it('two open hosts find each other and agree on the endpoint pair', async () => {
    const a = await bound('127.0.0.1');
    const b = await bound('127.0.0.2');
    const endpointA = { address: '127.0.0.1', port: a.address().port };
    const endpointB = { address: '127.0.0.2', port: b.address().port };
    const open = (mappedEndpoint: typeof endpointA) => ({
      type: 'open' as const,
      portStep: 0,
      mappedEndpoint,
    });
    const [resultA, resultB] = await Promise.all([
      punchHole({
        socket: a,
        localNat: open(endpointA),
        remoteNat: open(endpointB),
        remoteEndpoints: [endpointB],
        localMemberId: 1,
        remoteMemberId: 2,
        linger: 300,
      }),
      punchHole({
        socket: b,
        localNat: open(endpointB),
        remoteNat: open(endpointA),
        remoteEndpoints: [endpointA],
        localMemberId: 2,
        remoteMemberId: 1,
        linger: 300,
      }),
    ]);
    expect(resultA.ok && resultA.remote).toEqual(endpointB);
    expect(resultA.ok && resultA.local).toEqual(endpointA);
    expect(resultB.ok && resultB.remote).toEqual(endpointA);
    await new Promise((resolve) => setTimeout(resolve, 350));
  });

  it('an impossible pair fails at once without sending', async () => {
    const a = await bound();
    let received = 0;
    const b = await bound();
    b.on('message', () => received++);
    const result = await punchHole({
      socket: a,
      localNat: { type: 'symmetric-random', portStep: 0, mappedEndpoint: null },
      remoteNat: {
        type: 'port-restricted-cone',
        portStep: 0,
        mappedEndpoint: { address: '127.0.0.1', port: b.address().port },
      },
      remoteEndpoints: [],
      localMemberId: 1,
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('P2PSP_ERR_PUNCH_IMPOSSIBLE');
      expect(result.error.hellosSent).toBe(0);
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(received).toBe(0);
  });
});
