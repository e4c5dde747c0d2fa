// One per private host for the whole hole-punching matrix: many punches at once, each on
// its own socket (its own internal address and port), driven by the harness over JSON lines:
//   {type:'bind', run, localAddress, localPort, stun}  -> {type:'bound', run, local, mapped}
//   {type:'punch', run, localNat, remoteNat, ...}       -> {type:'punched', run, result}
// The STUN Binding on the punching socket is the rendezvous half a P2PSP source would do:
// it yields the public endpoint the other side aims at (and, for a sequential NAT, the last
// port allocated, from which @p2psp/nat predicts the next ones).
import type { Socket } from 'node:dgram';
import { mappedEndpointOf } from '@p2psp/nat';
import { punchHole, UdpStunClient } from '@p2psp/nat/node';
import type { Endpoint, NatReport } from '@p2psp/wire';
import { bounded, emit, receive } from './agent-io.js';
import { bindUdp } from './udp-sockets.js';

interface BindCommand {
  readonly type: 'bind';
  readonly run: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly stun: Endpoint;
}

interface PunchCommand {
  readonly type: 'punch';
  readonly run: string;
  readonly localNat: NatReport;
  readonly remoteNat: NatReport;
  readonly remoteEndpoints: readonly Endpoint[];
  readonly remotePortHint?: number;
  readonly localMemberId: number;
  readonly remoteMemberId: number;
  readonly timeout: number;
}

type Command = BindCommand | PunchCommand | { readonly type: 'exit' };

/** After a punch, answer the other side's hellos this long before closing (its ack). */
const LINGER_MILLISECONDS = 2_000;

bounded(30 * 60_000);
const sockets = new Map<string, Socket>();

async function bind(command: BindCommand): Promise<void> {
  try {
    const { socket, local } = await bindUdp({
      address: command.localAddress,
      port: command.localPort,
    });
    sockets.set(command.run, socket);
    const client = new UdpStunClient(socket);
    const answer = await client.request(command.stun);
    client.close();
    const mapped = answer.ok ? mappedEndpointOf(answer.response) : null;
    emit({ type: 'bound', run: command.run, local, mapped });
  } catch (error) {
    emit({ type: 'bound', run: command.run, local: null, mapped: null, error: String(error) });
  }
}

async function punch(command: PunchCommand): Promise<void> {
  const socket = sockets.get(command.run);
  if (!socket) {
    emit({
      type: 'punched',
      run: command.run,
      result: { ok: false, error: { code: 'NO_SOCKET' } },
    });
    return;
  }
  const result = await punchHole({
    socket,
    localNat: command.localNat,
    remoteNat: command.remoteNat,
    remoteEndpoints: command.remoteEndpoints,
    ...(command.remotePortHint !== undefined ? { remotePortHint: command.remotePortHint } : {}),
    localMemberId: command.localMemberId,
    remoteMemberId: command.remoteMemberId,
    timeout: command.timeout,
    linger: LINGER_MILLISECONDS,
  });
  emit({ type: 'punched', run: command.run, result });
  setTimeout(() => {
    socket.close();
    sockets.delete(command.run);
  }, LINGER_MILLISECONDS + 100);
}

emit({ type: 'ready' });
for (;;) {
  const command = await receive<Command>();
  if (command.type === 'exit') break;
  if (command.type === 'bind') void bind(command);
  if (command.type === 'punch') void punch(command);
}
process.exit(0);
