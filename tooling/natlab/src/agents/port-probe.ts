// Sends one datagram from one socket to each echo port in turn and reports the external
// source port the echo server saw each time: the NAT's port allocation, measured from the
// outside (RFC 4787 section 4.1). Retries a lost probe a bounded number of times.
import { createSocket } from 'node:dgram';
import { bounded, emit, options, required } from './agent-io.js';

const values = options();
const localAddress = required(values, 'local-address');
const localPort = Number(required(values, 'local-port'));
const echoAddress = required(values, 'echo-address');
const echoPorts = required(values, 'echo-ports').split(',').map(Number);
bounded(30_000);

const socket = createSocket('udp4');
const answers = new Map<number, string>();
let wake: (() => void) | undefined;
socket.on('message', (message, remote) => {
  answers.set(remote.port, message.toString('utf8'));
  wake?.();
});

socket.bind(localPort, localAddress, async () => {
  const observed: string[] = [];
  for (const port of echoPorts) {
    for (let attempt = 0; attempt < 5 && !answers.has(port); attempt += 1) {
      socket.send('probe', port, echoAddress);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 400);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    observed.push(answers.get(port) ?? 'lost');
  }
  emit({ type: 'observed', observed });
  socket.close();
  process.exit(0);
});
