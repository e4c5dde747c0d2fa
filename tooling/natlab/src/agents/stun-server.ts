// @p2psp/nat's STUN server in RFC 5780 mode: four sockets (A1:P1, A1:P2, A2:P1, A2:P2), each
// reply sent from the socket the core names (RFC 5780 section 6: CHANGE-REQUEST answers
// come from the other address and/or port).
import type { Socket } from 'node:dgram';
import { StunServerCore } from '@p2psp/nat';
import type { Endpoint } from '@p2psp/wire';
import { bounded, emit, options, required } from './agent-io.js';
import { bindUdp, sendTo } from './udp-sockets.js';

const values = options();
const core = new StunServerCore({
  primary: {
    address: required(values, 'primary-address'),
    port: Number(required(values, 'port')),
  },
  alternateAddress: required(values, 'alternate-address'),
  alternatePort: Number(required(values, 'alternate-port')),
  software: 'p2psp natlab',
});
bounded(Number(values.get('lifetime') ?? 1_800_000));

const key = (endpoint: Endpoint): string => `${endpoint.address}:${endpoint.port}`;
const sockets = new Map<string, Socket>();
for (const endpoint of core.endpoints) {
  const { socket, local } = await bindUdp(endpoint);
  sockets.set(key(local), socket);
  socket.on('message', (bytes, remote) => {
    const reply = core.handle(bytes, { address: remote.address, port: remote.port }, local);
    if (!reply) return;
    const from = sockets.get(key(reply.from));
    if (from) sendTo(from, reply.to, reply.bytes);
  });
}
emit({ type: 'ready', endpoints: core.endpoints });
process.on('SIGTERM', () => {
  emit({ type: 'counters', counters: core.counters });
  process.exit(0);
});
