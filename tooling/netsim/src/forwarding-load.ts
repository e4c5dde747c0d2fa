import type { CoreOutput, Endpoint, SansIoCore } from '@p2psp/wire';
import { Simulator } from './simulator.js';

export interface ForwardingLoadOptions {
  readonly nodes: number;
  /** Datagrams sent in all, the first ones included. */
  readonly datagrams: number;
  /** Datagrams each node sends at the start; each is then passed on until the end. */
  readonly inFlightPerNode?: number;
  readonly seed?: number;
}

/**
 * The simulator with the P2PSP cores left out: `nodes` nodes (10 ms links, 5 ms jitter)
 * whose trivial cores pass every datagram received on to a node drawn at random, until
 * `datagrams` have been sent (by `run`, after the nodes are built). What it costs is the simulator's own cost (routing, agenda,
 * link models): experiments/simulator-cost.mjs measures it, a test checks its event count.
 */
export function forwardingLoad(options: ForwardingLoadOptions): {
  readonly sim: Simulator;
  /** Sends the first datagrams and runs until the last one arrives. */
  readonly run: () => void;
} {
  const { nodes, datagrams, inFlightPerNode = 1, seed = 1 } = options;
  const sim = new Simulator({ seed });
  const endpoints: Endpoint[] = [];
  const starts: (() => void)[] = [];
  let sent = 0;
  for (let index = 0; index < nodes; index += 1) {
    const node = sim.addNode({
      name: `node-${index}`,
      link: { latencyMs: 10, jitterMs: 5 },
      createCore: ({ random }): SansIoCore => {
        const outputs: CoreOutput[] = [];
        const send = (bytes: Uint8Array): void => {
          sent += 1;
          const to = endpoints[Math.floor(random.next() * nodes)]!;
          outputs.push({ type: 'send-datagram', to, bytes });
        };
        starts.push(() => {
          for (let count = 0; count < inFlightPerNode; count += 1) send(new Uint8Array(1024));
        });
        return {
          handle: (input) => {
            if (input.type === 'datagram' && sent < datagrams) send(input.bytes);
          },
          handleTimeout: () => {},
          pollTimeout: () => undefined,
          pollOutput: () => outputs.pop(),
        };
      },
    });
    endpoints.push(node.endpoint);
  }
  const run = (): void => {
    for (const [index, start] of starts.entries()) {
      start();
      sim.wake(sim.nodes[index]!);
    }
    sim.runUntil(Number.MAX_SAFE_INTEGER);
  };
  return { sim, run };
}
