// @p2psp/nat's RFC 5780 discovery from a site host: socket 0 is the one a peer would stream
// on, sockets 1..n only sample the NAT's port allocation. Prints the result as JSON.
import type { Socket } from 'node:dgram';
import { NatDiscoveryCore } from '@p2psp/nat';
import { createRandom, type Endpoint } from '@p2psp/wire';
import { bounded, emit, options, required } from './agent-io.js';
import { bindUdp, seed, sendTo, timerFor } from './udp-sockets.js';

const values = options();
const localAddress = required(values, 'local-address');
const localPort = Number(values.get('local-port') ?? 0);
const samplingSockets = Number(values.get('sampling-sockets') ?? 3);
const server: Endpoint = {
  address: required(values, 'server-address'),
  port: Number(values.get('server-port') ?? 3478),
};
bounded(60_000);

const bound: Array<{ socket: Socket; local: Endpoint }> = [];
bound.push(await bindUdp({ address: localAddress, port: localPort }));
for (let index = 0; index < samplingSockets; index += 1) {
  bound.push(await bindUdp({ address: localAddress, port: 0 }));
}
const core = new NatDiscoveryCore({
  server,
  localEndpoints: bound.map((entry) => entry.local),
  localAddresses: [localAddress],
  random: createRandom(seed()),
});

const flush = (): void => {
  for (let output = core.pollOutput(); output; output = core.pollOutput()) {
    if (output.type === 'send-datagram') {
      const entry = bound[output.socket];
      if (entry) sendTo(entry.socket, output.to, output.bytes);
    } else {
      emit({ type: 'result', result: output.result });
      for (const entry of bound) entry.socket.close();
      process.exit(0);
    }
  }
};
const schedule = timerFor(
  () => core.pollTimeout(),
  (now) => {
    core.handleTimeout(now);
    flush();
  },
);
bound.forEach((entry, index) => {
  entry.socket.on('message', (bytes, remote) => {
    core.handleDatagram(
      bytes,
      { address: remote.address, port: remote.port },
      index,
      performance.now(),
    );
    flush();
    schedule();
  });
});
core.start(performance.now());
flush();
schedule();
