// @p2psp/nat's RFC 5780 discovery (the Node adapter `p2psp nat detect` runs) from a site
// host: socket 0 is bound here, like the socket a peer would stream on; the adapter adds
// fresh sockets on the same address to sample the NAT's port allocation.
import { createSocket } from 'node:dgram';
import { detectNat } from '@p2psp/nat/node';
import { bounded, emit, options, required } from './agent-io.js';

const values = options();
const localAddress = required(values, 'local-address');
const localPort = Number(values.get('local-port') ?? 0);
bounded(60_000);

const socket = createSocket('udp4');
socket.on('error', () => {});
await new Promise<void>((resolve) => socket.bind(localPort, localAddress, resolve));
const result = await detectNat({
  socket,
  localAddress,
  server: {
    address: required(values, 'server-address'),
    port: Number(values.get('server-port') ?? 3478),
  },
});
emit({ type: 'result', result });
socket.close();
process.exit(0);
