// Two self-checks of the lab, measured from the outside with the echo server:
// - allocation: one socket sends to each echo port in turn and reports the external source
//   port the echo server saw each time (RFC 4787 section 4.1), retrying a lost probe;
// - --burst N: N numbered probes to the first echo port, 5 ms apart, no retries; reports how
//   many came back and the round-trip times (to check the impairment is in force).
import { createSocket } from 'node:dgram';
import { bounded, emit, options, required } from './agent-io.js';

const values = options();
const localAddress = required(values, 'local-address');
const localPort = Number(required(values, 'local-port'));
const echoAddress = required(values, 'echo-address');
const echoPorts = required(values, 'echo-ports').split(',').map(Number);
const burst = Number(values.get('burst') ?? 0);
bounded(30_000);

const socket = createSocket('udp4');
const answers = new Map<string, string>();
const roundTrips: number[] = [];
const sentAt = new Map<string, number>();
let wake: (() => void) | undefined;
socket.on('message', (message, remote) => {
  const [observed = '', tag = ''] = message.toString('utf8').split(' ');
  answers.set(tag, observed);
  const started = sentAt.get(tag);
  if (started !== undefined && remote.port === echoPorts[0])
    roundTrips.push(performance.now() - started);
  wake?.();
});

const pause = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

socket.bind(localPort, localAddress, async () => {
  if (burst > 0) {
    const firstPort = echoPorts[0] ?? 0;
    for (let index = 0; index < burst; index += 1) {
      const tag = `burst-${index}`;
      sentAt.set(tag, performance.now());
      socket.send(tag, firstPort, echoAddress);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    emit({ type: 'burst', sent: burst, answered: roundTrips.length, roundTrips });
  } else {
    const observed: string[] = [];
    for (const port of echoPorts) {
      const tag = `port-${port}`;
      for (let attempt = 0; attempt < 5 && !answers.has(tag); attempt += 1) {
        socket.send(tag, port, echoAddress);
        await pause(400);
      }
      observed.push(answers.get(tag) ?? 'lost');
    }
    emit({ type: 'observed', observed });
  }
  socket.close();
  process.exit(0);
});
