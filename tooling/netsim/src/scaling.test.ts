import type { CoreOutput, Endpoint, SansIoCore } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { Simulator } from './simulator.js';

/**
 * `nodes` nodes whose cores pass each datagram received on to a node drawn at random, with
 * one datagram in flight per node, until `datagrams` have been sent.
 */
function forwardingRun(nodes: number, datagrams: number): Simulator {
  const sim = new Simulator({ seed: 3 });
  const endpoints: Endpoint[] = [];
  let sent = 0;
  const starts: (() => void)[] = [];
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
        starts.push(() => send(new Uint8Array(100)));
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
  for (const [index, start] of starts.entries()) {
    start();
    sim.wake(sim.nodes[index]!);
  }
  sim.runUntil(Number.MAX_SAFE_INTEGER);
  return sim;
}

describe('simulator cost per datagram', () => {
  it('handles one agenda event per datagram, with 10 nodes as with 2,000', () => {
    for (const nodes of [10, 2000]) {
      const sim = forwardingRun(nodes, 20_000);
      expect(sim.datagramsDelivered).toBe(20_000);
      expect(sim.eventsProcessed).toBe(sim.datagramsDelivered);
      const received = sim.nodes.reduce((sum, node) => sum + node.statistics.datagramsReceived, 0);
      expect(received).toBe(20_000);
    }
  });
});
