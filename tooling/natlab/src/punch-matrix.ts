import type { Endpoint, NatReport } from '@p2psp/wire';
import { agentScript } from './agents.js';
import { type LabProcess, NatLabError } from './commands.js';
import type { Lab } from './lab.js';
import type { NatType } from './nat-rules.js';
import { SITE_NAMES, type SiteName } from './topology.js';

/** One side's answer, as @p2psp/nat's punchHole resolves it. */
export type SideResult =
  | {
      readonly ok: true;
      readonly remote: Endpoint;
      readonly elapsed: number;
      readonly hellosSent: number;
    }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message?: string;
        readonly hellosSent?: number;
        readonly elapsed?: number;
      };
    };

export interface PairRun {
  readonly run: number;
  /** Both sides got a hello-ack: a direct path works both ways. */
  readonly ok: boolean;
  /** The failure code (the first failing side's), or null on success. */
  readonly code: string | null;
  readonly message: string | null;
  /** Time to punch, the slower side's (ms, from the core's start); null on failure. */
  readonly elapsedMilliseconds: number | null;
  readonly a: SideResult;
  readonly b: SideResult;
}

interface Pending {
  resolve(message: Record<string, unknown>): void;
}

/** The two punch-host agents (one per private host), multiplexing many runs by id. */
export class PunchHosts {
  private readonly agents = new Map<SiteName, LabProcess>();
  private readonly waiting = new Map<string, Pending>();
  private nextPort = 10_000;
  private nextRun = 0;

  private constructor(private readonly lab: Lab) {}

  static async start(lab: Lab): Promise<PunchHosts> {
    const hosts = new PunchHosts(lab);
    const script = await agentScript('punch-host');
    for (const site of SITE_NAMES) {
      const agent = lab.spawnNode(`${site}-host`, script);
      const ready = await agent.nextLine(15_000);
      if (JSON.parse(ready).type !== 'ready') {
        throw new NatLabError('P2PSP_ERR_NATLAB_AGENT', `punch-host in ${site} said ${ready}`);
      }
      hosts.agents.set(site, agent);
      void hosts.readLoop(site, agent);
    }
    return hosts;
  }

  private async readLoop(site: SiteName, agent: LabProcess): Promise<void> {
    while (agent.running) {
      let line: string;
      try {
        line = await agent.nextLine(24 * 3600_000);
      } catch {
        return;
      }
      const message = JSON.parse(line) as Record<string, unknown>;
      const key = `${site}/${String(message.type)}/${String(message.run)}`;
      this.waiting.get(key)?.resolve(message);
      this.waiting.delete(key);
    }
  }

  private request(
    site: SiteName,
    command: Record<string, unknown>,
    replyType: string,
    timeoutMilliseconds: number,
  ): Promise<Record<string, unknown>> {
    const agent = this.agents.get(site);
    if (!agent) throw new NatLabError('P2PSP_ERR_NATLAB_AGENT', `no punch-host in site ${site}`);
    const key = `${site}/${replyType}/${String(command.run)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(
          new NatLabError(
            'P2PSP_ERR_NATLAB_AGENT_TIMEOUT',
            `punch-host in ${site} did not answer ${String(command.type)} for run ${String(command.run)} within ${timeoutMilliseconds} ms; stderr: ${agent.stderr.slice(-1000)}`,
          ),
        );
      }, timeoutMilliseconds);
      this.waiting.set(key, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
      agent.writeLine(JSON.stringify(command));
    });
  }

  /**
   * One punch between the two private hosts: each binds a fresh socket on its run address,
   * learns its public endpoint from the STUN server (rendezvous), then both punch at once
   * with the other's NAT report and endpoint.
   */
  async punchOnce(options: {
    readonly runIndex: number;
    readonly reports: Readonly<Record<SiteName, NatReport>>;
    readonly stun: Endpoint;
    readonly timeoutMilliseconds: number;
  }): Promise<PairRun> {
    const { runIndex, reports } = options;
    this.nextRun += 1;
    const runNumber = this.nextRun;
    const run = `${runNumber}`;
    const bound = await Promise.all(
      SITE_NAMES.map((site) => {
        const localAddress = this.lab.sites[site].runAddresses[runIndex];
        if (!localAddress) {
          throw new RangeError(`runIndex ${runIndex} has no run address; raise runAddressCount`);
        }
        this.nextPort += 1;
        return this.request(
          site,
          { type: 'bind', run, localAddress, localPort: this.nextPort, stun: options.stun },
          'bound',
          15_000,
        );
      }),
    );
    const mapped = bound.map((message) => message.mapped as Endpoint | null);
    const [mappedA, mappedB] = mapped;
    if (!mappedA || !mappedB) {
      const failure: SideResult = {
        ok: false,
        error: {
          code: 'P2PSP_ERR_NATLAB_RENDEZVOUS',
          message: 'no STUN answer on a punching socket',
        },
      };
      return {
        run: runIndex,
        ok: false,
        code: failure.error.code,
        message: null,
        elapsedMilliseconds: null,
        a: failure,
        b: failure,
      };
    }
    // Distinct member ids per run: a hello that strays into another run is not answered.
    const memberId = (site: SiteName): number => 2 * runNumber + (site === 'a' ? 1 : 2);
    const endpoints: Record<SiteName, Endpoint> = { a: mappedA, b: mappedB };
    const results = await Promise.all(
      SITE_NAMES.map((site) => {
        const other: SiteName = site === 'a' ? 'b' : 'a';
        return this.request(
          site,
          {
            type: 'punch',
            run,
            localNat: { ...reports[site], mappedEndpoint: endpoints[site] },
            remoteNat: { ...reports[other], mappedEndpoint: endpoints[other] },
            remoteEndpoints: [endpoints[other]],
            remotePortHint: endpoints[other].port,
            localMemberId: memberId(site),
            remoteMemberId: memberId(other),
            timeout: options.timeoutMilliseconds,
          },
          'punched',
          options.timeoutMilliseconds + 15_000,
        );
      }),
    );
    const [a, b] = results.map((message) => message.result as SideResult) as [
      SideResult,
      SideResult,
    ];
    const failed = [a, b].find((side) => !side.ok);
    const failure = failed && !failed.ok ? failed.error : null;
    return {
      run: runIndex,
      ok: a.ok && b.ok,
      code: failure ? failure.code : null,
      message: failure?.message ?? null,
      elapsedMilliseconds: a.ok && b.ok ? Math.max(a.elapsed, b.elapsed) : null,
      a,
      b,
    };
  }

  async stop(): Promise<void> {
    for (const agent of this.agents.values()) {
      agent.writeLine(JSON.stringify({ type: 'exit' }));
      await agent.stop(3_000);
    }
    this.agents.clear();
  }
}

export interface MatrixCell {
  readonly a: NatType;
  readonly b: NatType;
  readonly runs: readonly PairRun[];
  readonly successes: number;
  /** Median time to punch over the successful runs (ms), null when none succeeded. */
  readonly medianMilliseconds: number | null;
  /** Failure codes and how often each occurred. */
  readonly failures: Readonly<Record<string, number>>;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? null)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Runs `runs` punches in parallel with the routers as they are now, and sums them up. */
export async function punchCell(
  hosts: PunchHosts,
  options: {
    readonly a: NatType;
    readonly b: NatType;
    readonly reports: Readonly<Record<SiteName, NatReport>>;
    readonly stun: Endpoint;
    readonly runs: number;
    readonly timeoutMilliseconds: number;
  },
): Promise<MatrixCell> {
  const runs = await Promise.all(
    Array.from({ length: options.runs }, (_, runIndex) =>
      hosts.punchOnce({
        runIndex,
        reports: options.reports,
        stun: options.stun,
        timeoutMilliseconds: options.timeoutMilliseconds,
      }),
    ),
  );
  const failures: Record<string, number> = {};
  for (const run of runs) if (run.code) failures[run.code] = (failures[run.code] ?? 0) + 1;
  return {
    a: options.a,
    b: options.b,
    runs,
    successes: runs.filter((run) => run.ok).length,
    medianMilliseconds: median(
      runs.flatMap((run) => (run.elapsedMilliseconds === null ? [] : [run.elapsedMilliseconds])),
    ),
    failures,
  };
}

const SHORT_NAMES: Record<NatType, string> = {
  'full-cone': 'FC',
  'restricted-cone': 'RC',
  'port-restricted-cone': 'PRC',
  'symmetric-sequential': 'SYM-seq',
  'symmetric-random': 'SYM-rand',
};

/** The matrix as a Markdown table: "successes/runs, median ms" per cell, A in rows. */
export function matrixMarkdown(cells: readonly MatrixCell[], types: readonly NatType[]): string {
  const header = `| A \\ B | ${types.map((type) => SHORT_NAMES[type]).join(' | ')} |`;
  const rule = `|---|${types.map(() => '---').join('|')}|`;
  const rows = types.map((a) => {
    const entries = types.map((b) => {
      const cell = cells.find((candidate) => candidate.a === a && candidate.b === b);
      if (!cell) return '';
      const time =
        cell.medianMilliseconds === null ? '' : `, ${Math.round(cell.medianMilliseconds)} ms`;
      const reasons = Object.keys(cell.failures)
        .map((code) => code.replace('P2PSP_ERR_', ''))
        .join(', ');
      return `${cell.successes}/${cell.runs.length}${time}${reasons && cell.successes < cell.runs.length ? ` (${reasons})` : ''}`;
    });
    return `| ${SHORT_NAMES[a]} | ${entries.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
