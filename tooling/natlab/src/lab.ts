import { fileURLToPath } from 'node:url';
import type { CommandResult } from './commands.js';
import {
  type LabProcess,
  NatLabError,
  runQuiet,
  runSync,
  signalPid,
  spawnInNamespace,
} from './commands.js';
import { type NatType, natRules, validateNatRulesOptions } from './nat-rules.js';
import {
  EXCHANGE_ADDRESS,
  EXCHANGE_PREFIX_LENGTH,
  PUBLIC_HOST_ADDRESS,
  ROLES,
  type Role,
  SITE_NAMES,
  type SiteAddresses,
  type SiteName,
  STUN_ALTERNATE_ADDRESS,
  STUN_PRIMARY_ADDRESS,
  siteAddresses,
} from './topology.js';

export interface LabOptions {
  /** Extra host addresses per site, one per parallel run (default 20). */
  readonly runAddressCount?: number;
  /** Port step of the symmetric-sequential NAT (default 2, so predictors must measure it). */
  readonly sequentialStep?: number;
  /** Idle lifetime of cone mappings, seconds (default 120, RFC 4787 REQ-5). */
  readonly mappingTimeoutSeconds?: number;
  /** NAT type of both routers at start (default port-restricted-cone, plain Linux SNAT). */
  readonly natType?: NatType;
}

/** tc netem settings for a site's uplink, applied in both directions. */
export interface Impairment {
  readonly delayMilliseconds: number;
  readonly lossPercent: number;
}

export interface RunOptions {
  /** Kill the process (SIGTERM, then SIGKILL) after this long; default 60 s. */
  readonly timeoutMilliseconds?: number;
}

export interface Lab {
  /** The namespace-name prefix of this lab, `p2psp-<pid>-<n>`. */
  readonly prefix: string;
  readonly sites: Readonly<Record<SiteName, SiteAddresses>>;
  readonly stunPrimaryAddress: string;
  readonly stunAlternateAddress: string;
  readonly publicHostAddress: string;
  namespace(role: Role): string;
  natType(site: SiteName): NatType;
  /**
   * Replaces the router's NAT rules and forgets every mapping (conntrack flushed).
   * `sequentialCounter: 'shared'` makes a symmetric-sequential NAT use one counter for all
   * hosts instead of one per host.
   */
  setNatType(
    site: SiteName,
    natType: NatType,
    options?: { readonly sequentialCounter?: 'per-host' | 'shared' },
  ): void;
  /**
   * Delay and loss on the site's uplink, both directions; `null` removes it. Uses tc netem;
   * on kernels built without sch_netem, an NFQUEUE link emulator in the internet namespace
   * does the same (see src/agents/link-emulator.py). Resolves once it is in force.
   */
  setImpairment(site: SiteName, impairment: Impairment | null): Promise<void>;
  /** How impairments are applied here ('netem' or 'nfqueue'), once one was set. */
  readonly impairmentMethod: 'netem' | 'nfqueue' | undefined;
  /** Starts a long-running process in a namespace; stopped by PID on destroy. */
  spawn(role: Role, command: string, args?: readonly string[]): LabProcess;
  /** Starts `node script args` in a namespace. */
  spawnNode(role: Role, script: string, args?: readonly string[]): LabProcess;
  /** Runs a command to completion in a namespace (killed after the timeout). */
  run(
    role: Role,
    command: string,
    args?: readonly string[],
    options?: RunOptions,
  ): Promise<CommandResult>;
  /** Synchronous, for quick setup commands (ip, nft, sysctl). */
  runSync(role: Role, command: string, args: readonly string[]): string;
  /** Stops every process, deletes every namespace. Safe to call twice. */
  destroy(): Promise<void>;
}

// `p2psp-<pid>-...`: the convention every namespace-creating test here follows (the brief).
const NAMESPACE_PATTERN = /^p2psp-(\d+)-/;
const liveLabs = new Set<LabImplementation>();
let labCounter = 0;
let exitHandlersInstalled = false;

function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  // Rule 5 (network stays home): namespaces and processes go away even when a test throws,
  // the worker exits, or someone presses Ctrl-C.
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const lab of liveLabs) lab.destroySync();
      process.kill(process.pid, signal);
    });
  }
}

function deleteNamespace(namespace: string): void {
  // Processes keep a namespace alive after `ip netns del`: kill them first, by PID.
  let pids = '';
  try {
    pids = runSync('ip', ['netns', 'pids', namespace]);
  } catch {
    return;
  }
  for (const pid of pids.split(/\s+/).filter(Boolean)) signalPid(Number(pid), 'SIGKILL');
  runQuiet('ip', ['netns', 'del', namespace]);
}

function listNamespaces(): string[] {
  return runSync('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `p2psp-<pid>-*` namespaces whose creating process is dead (an aborted run that
 * could not clean up, e.g. SIGKILL). Returns the names removed.
 */
export function cleanupStaleLabs(): string[] {
  const removed: string[] = [];
  for (const namespace of listNamespaces()) {
    const match = NAMESPACE_PATTERN.exec(namespace);
    if (!match || pidAlive(Number(match[1]))) continue;
    deleteNamespace(namespace);
    removed.push(namespace);
  }
  return removed;
}

class LabImplementation implements Lab {
  readonly prefix: string;
  readonly sites: Readonly<Record<SiteName, SiteAddresses>>;
  readonly stunPrimaryAddress = STUN_PRIMARY_ADDRESS;
  readonly stunAlternateAddress = STUN_ALTERNATE_ADDRESS;
  readonly publicHostAddress = PUBLIC_HOST_ADDRESS;
  private readonly processes = new Set<LabProcess>();
  private readonly created: string[] = [];
  private readonly natTypes: Record<SiteName, NatType>;
  private readonly sequentialStep: number;
  private readonly mappingTimeoutSeconds: number;
  private destroyed = false;
  private method: 'netem' | 'nfqueue' | undefined;
  private readonly impairments: Record<SiteName, Impairment | null> = { a: null, b: null };
  private linkEmulator: LabProcess | undefined;

  constructor(options: LabOptions) {
    const runAddressCount = options.runAddressCount ?? 20;
    if (!Number.isInteger(runAddressCount) || runAddressCount < 0 || runAddressCount > 20) {
      throw new RangeError(`runAddressCount must be an integer in 0..20, got ${runAddressCount}`);
    }
    labCounter += 1;
    this.prefix = `p2psp-${process.pid}-${labCounter}`;
    this.sites = { a: siteAddresses('a', runAddressCount), b: siteAddresses('b', runAddressCount) };
    this.sequentialStep = options.sequentialStep ?? 2;
    this.mappingTimeoutSeconds = options.mappingTimeoutSeconds ?? 120;
    const natType = options.natType ?? 'port-restricted-cone';
    this.natTypes = { a: natType, b: natType };
    for (const site of SITE_NAMES) validateNatRulesOptions(this.rulesOptions(site, natType));
  }

  namespace(role: Role): string {
    return `${this.prefix}-${role}`;
  }

  runSync(role: Role, command: string, args: readonly string[]): string {
    return runSync('ip', ['netns', 'exec', this.namespace(role), command, ...args]);
  }

  private ip(role: Role, args: string): void {
    runSync('ip', ['-n', this.namespace(role), ...args.split(' ')]);
  }

  build(): void {
    installExitHandlers();
    liveLabs.add(this);
    for (const role of ROLES) {
      runSync('ip', ['netns', 'add', this.namespace(role)]);
      this.created.push(this.namespace(role));
      this.ip(role, 'link set lo up');
    }
    // The internet: a bridge for the public servers, routed point-to-point uplinks to the NATs.
    this.ip('internet', 'link add exchange type bridge');
    this.ip('internet', `addr add ${EXCHANGE_ADDRESS}/${EXCHANGE_PREFIX_LENGTH} dev exchange`);
    this.ip('internet', 'link set exchange up');
    this.runSync('internet', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const servers: Array<[Role, string[]]> = [
      ['stun', [STUN_PRIMARY_ADDRESS, STUN_ALTERNATE_ADDRESS]],
      ['public-host', [PUBLIC_HOST_ADDRESS]],
    ];
    for (const [role, addresses] of servers) {
      this.ip(
        'internet',
        `link add ${role} type veth peer name eth0 netns ${this.namespace(role)}`,
      );
      this.ip('internet', `link set ${role} master exchange up`);
      for (const address of addresses) {
        this.ip(role, `addr add ${address}/${EXCHANGE_PREFIX_LENGTH} dev eth0`);
      }
      this.ip(role, 'link set eth0 up');
      this.ip(role, `route add default via ${EXCHANGE_ADDRESS}`);
    }
    for (const site of SITE_NAMES) {
      const addresses = this.sites[site];
      const router: Role = `${site}-router`;
      const host: Role = `${site}-host`;
      this.ip(
        'internet',
        `link add ${site}-uplink type veth peer name wan netns ${this.namespace(router)}`,
      );
      this.ip('internet', `addr add ${addresses.uplinkAddress}/30 dev ${site}-uplink`);
      this.ip('internet', `link set ${site}-uplink up`);
      this.ip(router, `addr add ${addresses.wanAddress}/30 dev wan`);
      this.ip(router, 'link set wan up');
      this.ip(router, `route add default via ${addresses.uplinkAddress}`);
      // The LAN is a bridge, so a second host can sit beside the first behind the NAT.
      this.ip(router, 'link add lan type bridge');
      this.ip(router, `addr add ${addresses.lanRouterAddress}/24 dev lan`);
      this.ip(router, 'link set lan up');
      this.ip(router, `link add lan-host type veth peer name eth0 netns ${this.namespace(host)}`);
      this.ip(router, 'link set lan-host master lan up');
      this.runSync(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      for (const address of [addresses.hostAddress, ...addresses.runAddresses]) {
        this.ip(host, `addr add ${address}/24 dev eth0`);
      }
      this.ip(host, 'link set eth0 up');
      this.ip(host, `route add default via ${addresses.lanRouterAddress}`);
      if (addresses.neighbourAddress !== null) {
        const neighbour: Role = 'a-neighbour';
        this.ip(
          router,
          `link add lan-neighbour type veth peer name eth0 netns ${this.namespace(neighbour)}`,
        );
        this.ip(router, 'link set lan-neighbour master lan up');
        this.ip(neighbour, `addr add ${addresses.neighbourAddress}/24 dev eth0`);
        this.ip(neighbour, 'link set eth0 up');
        this.ip(neighbour, `route add default via ${addresses.lanRouterAddress}`);
      }
      this.setNatType(site, this.natTypes[site]);
    }
  }

  private rulesOptions(site: SiteName, natType: NatType) {
    const addresses = this.sites[site];
    return {
      natType,
      wanAddress: addresses.wanAddress,
      wanInterface: 'wan',
      lanInterface: 'lan',
      lanPrefix: addresses.lanPrefix,
      hostAddresses: [
        addresses.hostAddress,
        ...addresses.runAddresses,
        ...(addresses.neighbourAddress === null ? [] : [addresses.neighbourAddress]),
      ],
      sequentialStep: this.sequentialStep,
      mappingTimeoutSeconds: this.mappingTimeoutSeconds,
    };
  }

  natType(site: SiteName): NatType {
    return this.natTypes[site];
  }

  setNatType(
    site: SiteName,
    natType: NatType,
    options: { readonly sequentialCounter?: 'per-host' | 'shared' } = {},
  ): void {
    this.assertAlive();
    const rules = natRules({
      ...this.rulesOptions(site, natType),
      sequentialCounter: options.sequentialCounter ?? 'per-host',
    });
    runSync('ip', ['netns', 'exec', this.namespace(`${site}-router`), 'nft', '-f', '-'], rules);
    // Old connections would keep their old translation: forget them all.
    runQuiet('ip', ['netns', 'exec', this.namespace(`${site}-router`), 'conntrack', '-F']);
    this.natTypes[site] = natType;
  }

  get impairmentMethod(): 'netem' | 'nfqueue' | undefined {
    return this.method;
  }

  private netemAvailable(): boolean {
    try {
      this.runSync('internet', 'tc', [
        'qdisc',
        'add',
        'dev',
        'lo',
        'root',
        'netem',
        'delay',
        '0ms',
      ]);
      this.runSync('internet', 'tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
      return true;
    } catch {
      return false;
    }
  }

  async setImpairment(site: SiteName, impairment: Impairment | null): Promise<void> {
    this.assertAlive();
    if (
      impairment !== null &&
      (!(impairment.delayMilliseconds >= 0) ||
        !(impairment.lossPercent >= 0) ||
        impairment.lossPercent > 100)
    ) {
      throw new RangeError(
        `impairment needs delayMilliseconds >= 0 and lossPercent in 0..100, got ${JSON.stringify(impairment)}`,
      );
    }
    this.impairments[site] = impairment;
    this.method ??= this.netemAvailable() ? 'netem' : 'nfqueue';
    if (this.method === 'nfqueue') {
      await this.applyLinkEmulator();
      return;
    }
    const ends: Array<[Role, string]> = [
      [`${site}-router`, 'wan'],
      ['internet', `${site}-uplink`],
    ];
    for (const [role, device] of ends) {
      if (impairment === null) {
        runQuiet('ip', [
          'netns',
          'exec',
          this.namespace(role),
          'tc',
          'qdisc',
          'del',
          'dev',
          device,
          'root',
        ]);
        continue;
      }
      this.runSync(role, 'tc', [
        'qdisc',
        'replace',
        'dev',
        device,
        'root',
        'netem',
        'delay',
        `${impairment.delayMilliseconds}ms`,
        'loss',
        `${impairment.lossPercent}%`,
      ]);
    }
  }

  /** Restarts the NFQUEUE emulator with the current impairments (netem's stand-in). */
  private async applyLinkEmulator(): Promise<void> {
    if (this.linkEmulator) {
      await this.linkEmulator.stop(1_000);
      this.linkEmulator = undefined;
    }
    runQuiet('ip', ['netns', 'exec', this.namespace('internet'), 'iptables', '-F', 'FORWARD']);
    const links: string[] = [];
    for (const site of SITE_NAMES) {
      const impairment = this.impairments[site];
      if (!impairment) continue;
      const device = `${site}-uplink`;
      links.push('--link', `${device}:${impairment.delayMilliseconds}:${impairment.lossPercent}`);
      for (const direction of ['-i', '-o']) {
        // --queue-bypass: if the emulator is not there, packets pass instead of vanishing.
        this.runSync('internet', 'iptables', [
          '-A',
          'FORWARD',
          direction,
          device,
          '-j',
          'NFQUEUE',
          '--queue-num',
          '7',
          '--queue-bypass',
        ]);
      }
    }
    if (links.length === 0) return;
    const script = fileURLToPath(new URL('../src/agents/link-emulator.py', import.meta.url));
    const emulator = this.spawn('internet', 'python3', [script, '--queue', '7', ...links]);
    const ready = await emulator.nextLine(10_000);
    if (!ready.includes('ready')) {
      throw new NatLabError('P2PSP_ERR_NATLAB_LINK_EMULATOR', `the link emulator said ${ready}`);
    }
    this.linkEmulator = emulator;
  }

  spawn(role: Role, command: string, args: readonly string[] = []): LabProcess {
    this.assertAlive();
    const child = spawnInNamespace(this.namespace(role), command, args, (ended) =>
      this.processes.delete(ended),
    );
    this.processes.add(child);
    return child;
  }

  spawnNode(role: Role, script: string, args: readonly string[] = []): LabProcess {
    return this.spawn(role, process.execPath, [script, ...args]);
  }

  async run(
    role: Role,
    command: string,
    args: readonly string[] = [],
    options: RunOptions = {},
  ): Promise<CommandResult> {
    const child = this.spawn(role, command, args);
    child.child.stdin?.end();
    const timer = setTimeout(() => void child.stop(), options.timeoutMilliseconds ?? 60_000);
    const result = await child.exited;
    clearTimeout(timer);
    return result;
  }

  private assertAlive(): void {
    if (this.destroyed) {
      throw new NatLabError(
        'P2PSP_ERR_NATLAB_DESTROYED',
        `lab ${this.prefix} was destroyed; create a new one`,
      );
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.processes].map((child) => child.stop(500)));
    this.destroySync();
  }

  destroySync(): void {
    this.destroyed = true;
    liveLabs.delete(this);
    for (const child of this.processes) signalPid(child.pid, 'SIGKILL');
    this.processes.clear();
    for (const namespace of this.created.splice(0).reverse()) deleteNamespace(namespace);
  }
}

/**
 * Builds the lab (needs root, iproute2, nftables, conntrack). Stale namespaces of dead runs
 * are removed first. Call `destroy()` in afterAll; exit and signal handlers also tear it down.
 */
export function createLab(options: LabOptions = {}): Lab {
  cleanupStaleLabs();
  const lab = new LabImplementation(options);
  try {
    lab.build();
  } catch (error) {
    lab.destroySync();
    throw error;
  }
  return lab;
}
