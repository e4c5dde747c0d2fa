import type { NatDiscoveryResult } from '@p2psp/nat';
import { agentScript } from './agents.js';
import { NatLabError } from './commands.js';
import type { Lab } from './lab.js';
import type { SiteName } from './topology.js';

/** Where @p2psp/nat's STUN server listens in the lab (coturn keeps 3478/3479). */
export const OUR_STUN_PORT = 3480;
export const OUR_STUN_ALTERNATE_PORT = 3481;

export interface OurStunServer {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts @p2psp/nat's RFC 5780 STUN server on the lab's two STUN addresses. */
export async function startOurStunServer(
  lab: Lab,
  ports: { readonly port?: number; readonly alternatePort?: number } = {},
): Promise<OurStunServer> {
  const server = lab.spawnNode('stun', await agentScript('stun-server'), [
    '--primary-address',
    lab.stunPrimaryAddress,
    '--alternate-address',
    lab.stunAlternateAddress,
    '--port',
    String(ports.port ?? OUR_STUN_PORT),
    '--alternate-port',
    String(ports.alternatePort ?? OUR_STUN_ALTERNATE_PORT),
  ]);
  const ready = JSON.parse(await server.nextLine(15_000)) as { type: string };
  if (ready.type !== 'ready') {
    await server.stop();
    throw new NatLabError(
      'P2PSP_ERR_NATLAB_STUN_START',
      `our STUN server said ${JSON.stringify(ready)}`,
    );
  }
  return {
    pid: server.pid,
    async stop() {
      await server.stop();
    },
  };
}

export interface DetectOptions {
  readonly serverAddress: string;
  readonly serverPort: number;
  /** The host address to bind (default the host's main address). */
  readonly localAddress?: string;
  readonly localPort?: number;
}

/** Runs @p2psp/nat's RFC 5780 discovery in a site's host. */
export async function detectNat(
  lab: Lab,
  site: SiteName,
  options: DetectOptions,
): Promise<NatDiscoveryResult> {
  const detector = lab.spawnNode(`${site}-host`, await agentScript('nat-detect'), [
    '--local-address',
    options.localAddress ?? lab.sites[site].hostAddress,
    '--local-port',
    String(options.localPort ?? 0),
    '--server-address',
    options.serverAddress,
    '--server-port',
    String(options.serverPort),
  ]);
  const line = await detector.nextLine(60_000);
  const message = JSON.parse(line) as { type: string; result?: NatDiscoveryResult };
  if (message.type !== 'result' || !message.result) {
    throw new NatLabError('P2PSP_ERR_NATLAB_DETECT', `the detector said ${line}`);
  }
  return message.result;
}
