import { describe, expect, it } from 'vitest';
import { forwardingLoad } from './forwarding-load.js';

describe('simulator cost per datagram', () => {
  it('handles one agenda event per datagram, with 10 nodes as with 2,000', () => {
    for (const nodes of [10, 2000]) {
      const { sim, run } = forwardingLoad({ nodes, datagrams: 20_000, seed: 3 });
      run();
      expect(sim.datagramsDelivered).toBe(20_000);
      expect(sim.eventsProcessed).toBe(sim.datagramsDelivered);
      const received = sim.nodes.reduce((sum, node) => sum + node.statistics.datagramsReceived, 0);
      expect(received).toBe(20_000);
    }
  });
});
