import type { SourceCluster } from '@p2psp/cluster';
import {
  type ChildReport,
  type Endpoint,
  formatEndpoint,
  type Instant,
  type RequestedRole,
  unmapIpv4,
} from '@p2psp/wire';
import type { ResolvedSourceConfig } from './source-config.js';
import type { SourceContext } from './source-context.js';

/** A child source reports its subtree's load this often (docs/trees.md). */
export const CHILD_REPORT_MILLIS = 1000;
/**
 * A learnt child silent this long is dropped: three reports lost in a row (1e-6 at 1%
 * loss) or, far likelier, the child is gone, and joiners must not be sent to it.
 */
export const CHILD_TIMEOUT_MILLIS = 3 * CHILD_REPORT_MILLIS;
/**
 * A child source reports no room until it has cut this many chunks: its accepts announce a
 * chunk interval measured on the ingest, and before that a guess (20 ms) that a joiner's
 * schedule is built on (a first joiner of a 64 ms stream lost a third of its chunks).
 */
export const CHILD_READY_CHUNKS = 32;

/** A child source as its parent knows it. */
interface Child {
  /** Where it takes joins (TCP): the report's address and `joinPort`. */
  readonly endpoint: Endpoint;
  readonly key: string;
  /** Given in the configuration: kept even when silent (it may not report at all). */
  readonly configured: boolean;
  /** Its subtree's members and capacity as last reported (capacity null: never reported). */
  members: number;
  capacity: number | null;
  /** Joiners redirected to it since its last report: load it has not reported yet. */
  sentSinceReport: number;
  heardAt: Instant | null;
}

/** A child source in `/status`: where it takes joins, its subtree's load. */
export interface ChildView {
  readonly endpoint: string;
  readonly configured: boolean;
  readonly members: number;
  readonly capacity: number | null;
  readonly redirected: number;
}

/**
 * Trees of clusters (seed 000, "Transmutación"): a full source redirects ordinary joiners to
 * a child source, one fed by a liberated peer of this cluster.
 *
 * - Which children: those configured (`tree.children`), and those that report to us
 *   (`child-report`) from the address of one of our liberated members: the liberated peer
 *   and the child source it feeds run on one host.
 * - Where each joiner goes: the child whose subtree has most room, counting the joiners sent
 *   there since its last report, so joiners between two reports spread too. A configured
 *   child that never reported is taken to have our own capacity.
 * - A learnt child silent for `CHILD_TIMEOUT_MILLIS` is dropped (a configured one skipped
 *   until it reports again); its listeners rejoin at their entry source, which redirects
 *   them again (the peer's side).
 *
 * As a child (`tree.parent`), the source reports its own subtree every `CHILD_REPORT_MILLIS`,
 * with no room until its stream flows (`CHILD_READY_CHUNKS`).
 */
export class Children {
  readonly #context: SourceContext;
  readonly #config: ResolvedSourceConfig;
  readonly #cluster: SourceCluster;
  readonly #children = new Map<string, Child>();

  constructor(context: SourceContext, config: ResolvedSourceConfig, cluster: SourceCluster) {
    this.#context = context;
    this.#config = config;
    this.#cluster = cluster;
    for (const endpoint of config.tree.children) {
      const key = formatEndpoint(endpoint);
      this.#children.set(key, {
        endpoint,
        key,
        configured: true,
        members: 0,
        capacity: null,
        sentSinceReport: 0,
        heardAt: null,
      });
    }
    context.timers.register('child-report', (now) => this.#tick(now));
    if (config.tree.parent !== null || this.#children.size > 0) {
      // Due at once: the first timeout tells the time (sans-IO).
      context.timers.set('child-report', 0);
    }
  }

  /**
   * Where to send this joiner instead of admitting it, or null. Only ordinary joiners are
   * redirected: monitors (the operator's) and liberated peers (a child's feed) are admitted
   * as before. Full is when admission would take no more fed members (monitors and members,
   * joins in progress included): liberated members, the children's feeds, take no place.
   */
  redirect(role: RequestedRole, now: Instant): Endpoint | null {
    if (role !== 'peer' || this.#children.size === 0) return null;
    if (this.#fedMembers() < this.#config.maxMembers) return null;
    let best: Child | null = null;
    let bestRoom = 0;
    for (const child of this.#children.values()) {
      // A configured child that reported and fell silent is skipped until it reports again.
      if (child.heardAt !== null && now - child.heardAt >= CHILD_TIMEOUT_MILLIS) continue;
      const room =
        (child.capacity ?? this.#config.maxMembers) - child.members - child.sentSinceReport;
      if (room > bestRoom) {
        best = child;
        bestRoom = room;
      }
    }
    if (best === null) return null;
    best.sentSinceReport++;
    this.#context.stats.joinsRedirected++;
    return best.endpoint;
  }

  /** A child's report: learnt (or refreshed) if it comes from one of our liberated hosts. */
  report(from: Endpoint, message: ChildReport, now: Instant): void {
    const endpoint = { address: from.address, port: message.joinPort };
    const key = formatEndpoint(endpoint);
    let child = this.#children.get(key);
    if (child === undefined) {
      if (!this.#fromLiberatedHost(from)) {
        this.#context.drop('non-member', from, 'child-report');
        return;
      }
      child = {
        endpoint,
        key,
        configured: false,
        members: 0,
        capacity: null,
        sentSinceReport: 0,
        heardAt: null,
      };
      this.#children.set(key, child);
      // Its silence is checked on the report tick, which a parent with no child had not set.
      if (this.#context.timers.deadline('child-report') === null) {
        this.#context.timers.set('child-report', now + CHILD_REPORT_MILLIS);
      }
      this.#context.emit({
        name: 'child-add',
        level: 'info',
        fields: { child: key, members: message.members, capacity: message.capacity },
      });
    }
    this.#context.stats.childReportsReceived++;
    child.members = message.members;
    child.capacity = message.capacity;
    child.sentSinceReport = 0;
    child.heardAt = now;
  }

  views(): ChildView[] {
    return [...this.#children.values()].map((child) => ({
      endpoint: child.key,
      configured: child.configured,
      members: child.members,
      capacity: child.capacity,
      redirected: child.sentSinceReport,
    }));
  }

  #fedMembers(): number {
    const members = this.#cluster.members;
    return members.count('monitor') + members.count('member');
  }

  #fromLiberatedHost(from: Endpoint): boolean {
    const address = unmapIpv4(from.address);
    return [
      ...this.#cluster.members.byAddress(address),
      ...this.#cluster.members.byAddress(`::ffff:${address}`),
    ].some((member) => member.role === 'liberated');
  }

  #tick(now: Instant): void {
    for (const child of [...this.#children.values()]) {
      const heardAt = child.heardAt ?? 0;
      if (child.configured || now - heardAt < CHILD_TIMEOUT_MILLIS) continue;
      this.#children.delete(child.key);
      this.#context.emit({
        name: 'child-lose',
        level: 'warn',
        fields: { child: child.key, silentMillis: Math.round(now - heardAt) },
      });
    }
    const parent = this.#config.tree.parent;
    if (parent !== null) {
      let members = this.#fedMembers();
      let capacity = this.#config.maxMembers;
      for (const child of this.#children.values()) {
        members += child.members + child.sentSinceReport;
        capacity += child.capacity ?? this.#config.maxMembers;
      }
      if (this.#context.stats.chunksCut < CHILD_READY_CHUNKS) capacity = 0;
      this.#context.stats.childReportsSent++;
      this.#context.sendMessage(parent.endpoint, {
        type: 'child-report',
        joinPort: parent.joinPort,
        members,
        capacity,
      });
    }
    if (parent !== null || this.#children.size > 0) {
      this.#context.timers.set('child-report', now + CHILD_REPORT_MILLIS);
    }
  }
}
