// Echo server for the lab's self-checks: answers every datagram with the source endpoint it
// saw and the datagram's text ("ip:port text"), from the port it arrived on. Runs on the
// public host.
import { createSocket } from 'node:dgram';
import { bounded, emit, options, required } from './agent-io.js';

const values = options();
const address = required(values, 'address');
const ports = required(values, 'ports').split(',').map(Number);
bounded(Number(values.get('lifetime') ?? 600_000));

let listening = 0;
for (const port of ports) {
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    socket.send(
      `${remote.address}:${remote.port} ${message.toString('utf8')}`,
      remote.port,
      remote.address,
    );
  });
  socket.bind(port, address, () => {
    listening += 1;
    if (listening === ports.length) emit({ type: 'ready' });
  });
}
