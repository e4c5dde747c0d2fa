// @p2psp/nat's STUN server (the Node adapter `p2psp nat serve` runs) in RFC 5780 mode: four
// sockets (A1:P1, A1:P2, A2:P1, A2:P2); CHANGE-REQUEST answers leave from the other address
// and/or port (RFC 5780 section 6).
import { startStunServer } from '@p2psp/nat/node';
import { bounded, emit, options, required } from './agent-io.js';

const values = options();
bounded(Number(values.get('lifetime') ?? 1_800_000));
const server = await startStunServer({
  address: required(values, 'primary-address'),
  alternateAddress: required(values, 'alternate-address'),
  port: Number(required(values, 'port')),
  alternatePort: Number(required(values, 'alternate-port')),
  software: 'p2psp natlab',
});
emit({ type: 'ready', endpoints: server.endpoints });
process.on('SIGTERM', () => {
  emit({ type: 'counters', counters: server.counters });
  void server.close().then(() => process.exit(0));
});
