import { COTURN, ensureSystemTools, IPROUTE, IPTABLES, NFT, type SystemTool } from '@p2psp/testkit';

/** conntrack -F forgets the old mappings when a router changes NAT type. */
export const CONNTRACK: SystemTool = { command: 'conntrack', debianPackage: 'conntrack' };
/** The NFQUEUE link emulator, used where the kernel has no sch_netem (iptables queues to it). */
export const PYTHON: SystemTool = { command: 'python3', debianPackage: 'python3' };

const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Why the lab cannot run here, or null when it can. Outside CI a missing privilege or tool
 * skips with that reason; in CI (CI=true) it throws, so the suite fails instead of passing
 * by skipping everything.
 */
export function labSkipReason(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    const reason =
      'the NAT lab needs root on Linux (ip netns, nftables, tc): run `sudo pnpm --filter @p2psp/natlab test`';
    if (inCi) throw new Error(`CI=true but ${reason}`);
    return reason;
  }
  const missing = ensureSystemTools([IPROUTE, NFT, IPTABLES, CONNTRACK, COTURN, PYTHON]);
  if (missing.length > 0) return `missing system tools: ${missing.join(', ')}`;
  return null;
}
