import type { CoreEvent, CoreOutput, Endpoint, Instant, SansIoCore } from '@p2psp/wire';
import type { NodeOptions, SimulatedNode, Simulator } from './simulator.js';

/**
 * What one core put out, with the virtual time of each output: what tests and benchmarks
 * of the cores read. Give the node `recorder.wrap(core)`; the recorder sees every output
 * as the simulator drains it, the core is untouched.
 */
export class CoreRecorder {
  readonly plays: { chunkNumber: number; payload: Uint8Array | null; at: Instant }[] = [];
  readonly headers: { mediaType: string; header: Uint8Array }[] = [];
  readonly events: (CoreEvent & { at: Instant })[] = [];
  /** Every datagram the core sent, lost on the way or not. */
  readonly sent: { at: Instant; to: Endpoint; bytes: Uint8Array }[] = [];
  stopped: { reason: string; at: Instant } | null = null;
  /** UDP payload bytes the core sent. */
  uploadBytes = 0;

  constructor(private readonly sim: Simulator) {}

  wrap(core: SansIoCore): SansIoCore {
    return {
      handle: (input, now) => core.handle(input, now),
      handleTimeout: (now) => core.handleTimeout(now),
      pollTimeout: () => core.pollTimeout(),
      pollOutput: () => {
        const output = core.pollOutput();
        if (output !== undefined) this.record(output);
        return output;
      },
    };
  }

  private record(output: CoreOutput): void {
    const at = this.sim.now;
    switch (output.type) {
      case 'send-datagram':
        this.uploadBytes += output.bytes.length;
        this.sent.push({ at, to: output.to, bytes: output.bytes });
        break;
      case 'play':
        this.plays.push({ chunkNumber: output.chunkNumber, payload: output.payload, at });
        break;
      case 'stream-header':
        this.headers.push({ mediaType: output.mediaType, header: output.header });
        break;
      case 'event':
        this.events.push({ ...output.event, at });
        break;
      case 'stopped':
        this.stopped = { reason: output.reason, at };
        break;
    }
  }
}

export interface RecordedNodeOptions
  extends Omit<NodeOptions, 'createCore' | 'address' | 'udpPort'> {
  /** The node's UDP endpoint (its address and port). */
  readonly endpoint: Endpoint;
  readonly core: SansIoCore;
}

/** Starts a node running `core` at `endpoint`, with a recorder of its outputs. */
export function addRecordedNode(
  sim: Simulator,
  options: RecordedNodeOptions,
): { node: SimulatedNode; record: CoreRecorder } {
  const { endpoint, core, ...nodeOptions } = options;
  const record = new CoreRecorder(sim);
  const node = sim.addNode({
    ...nodeOptions,
    address: endpoint.address,
    udpPort: endpoint.port,
    createCore: () => record.wrap(core),
  });
  return { node, record };
}
