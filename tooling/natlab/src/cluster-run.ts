import type { LabProcess } from './commands.js';
import type { Lab } from './lab.js';
import type { NatType } from './nat-rules.js';
import type { Role } from './topology.js';

/**
 * A P2PSP cluster in the lab, run as a user runs it: the built CLI's `p2psp source` on the
 * public host, fed a live stream on stdin, `p2psp peer`s in the private hosts, and players
 * that read each peer's `/stream` the way an HTTP media client does.
 *
 * The feed is 1 KiB every 20 ms (400 kbit/s, about 49 chunks a second), piece k filled with
 * the byte k mod 256, so a player can count what it got: bytes, and the pieces missing from
 * the sequence (a chunk a peer never got is skipped, never stalls the output).
 */

export const SOURCE_PORT = 4552;
export const SOURCE_STATUS_PORT = 9100;
export const PLAYER_PORT = 8080;
const PIECE_BYTES = 1024;
const PIECE_MILLIS = 20;
/** The feed ends after 5 minutes (a bound on every sending loop), past any lab run. */
const FEED_PIECES = 15_000;

/** A peer's `GET /status`, the fields the lab reads. */
export interface LabPeerStatus {
  readonly role: string;
  readonly members: number;
  readonly chunksPlayed: number;
  readonly chunksLost: number;
  readonly chunksReceived: number;
  /** Neighbours reached on their private endpoint (EMS). */
  readonly neighboursPrivate: number;
}

/** A member in the source's `GET /status`. */
export interface LabSourceMember {
  readonly endpoint: string;
  readonly role: string;
  readonly nat: string;
}

/** What a player read from a peer's `/stream` in a window. */
export interface PlayerResult {
  readonly bytes: number;
  /** Pieces of the feed seen (changes of the fill byte). */
  readonly pieces: number;
  /** Pieces missing between those seen. */
  readonly missing: number;
  /** The longest time without a byte, after the first, in ms (an outage). */
  readonly longestGapMillis: number;
}

// A player: reads /stream for a while, counts bytes and gaps in the feed's piece sequence.
const PLAYER_SCRIPT = `
const [url, millis] = process.argv.slice(1);
const stop = new AbortController();
setTimeout(() => stop.abort(), Number(millis));
let bytes = 0, pieces = 0, missing = 0, previous = -1, last = 0, longestGapMillis = 0;
try {
  const response = await fetch(url, { signal: stop.signal });
  for await (const part of response.body) {
    const now = performance.now();
    if (last > 0) longestGapMillis = Math.max(longestGapMillis, Math.round(now - last));
    last = now;
    bytes += part.length;
    for (const value of part) {
      if (value === previous) continue;
      if (previous >= 0) { pieces++; missing += (value - previous + 255) % 256; }
      previous = value;
    }
  }
} catch {}
console.log(JSON.stringify({ bytes, pieces, missing, longestGapMillis }));
`;

export class LabCluster {
  readonly #lab: Lab;
  readonly #cli: string;
  readonly #processes: LabProcess[] = [];
  #feed: NodeJS.Timeout | null = null;

  constructor(lab: Lab, cli: string) {
    this.#lab = lab;
    this.#cli = cli;
  }

  /** `p2psp nat serve` (RFC 5780) on both STUN addresses; peers then detect with `--stun`. */
  async startStun(): Promise<LabProcess> {
    const lab = this.#lab;
    const stun = lab.spawnNode('stun', this.#cli, [
      'nat',
      'serve',
      '--address',
      lab.stunPrimaryAddress,
      '--alternate-address',
      lab.stunAlternateAddress,
    ]);
    const line = await stun.nextLine(15_000);
    if (!line.includes('(RFC 5780)')) throw new Error(`p2psp nat serve said ${line}`);
    return stun;
  }

  /** `--stun` for peers, towards `startStun`'s server. */
  get stunFlag(): string[] {
    return ['--stun', `${this.#lab.stunPrimaryAddress}:3478`];
  }

  /** Starts `p2psp source` on the public host, fed until `stop`. */
  async startSource(extra: readonly string[] = []): Promise<LabProcess> {
    const lab = this.#lab;
    const source = lab.spawnNode('public-host', this.#cli, [
      'source',
      '--input',
      '-',
      '--media-type',
      'application/octet-stream',
      '--address',
      lab.publicHostAddress,
      '--port',
      String(SOURCE_PORT),
      '--status-port',
      String(SOURCE_STATUS_PORT),
      ...extra,
    ]);
    this.#processes.push(source);
    let piece = 0;
    const feed = setInterval(() => {
      piece += 1;
      if (piece > FEED_PIECES) {
        clearInterval(feed);
        source.child.stdin?.end();
        return;
      }
      source.child.stdin?.write(Buffer.alloc(PIECE_BYTES, piece & 0xff));
    }, PIECE_MILLIS);
    this.#feed = feed;
    const deadline = Date.now() + 15_000;
    while (!source.stderr.includes('status-listen')) {
      if (Date.now() > deadline || !source.running) {
        throw new Error(`the source did not start: ${source.stderr.slice(-2000)}`);
      }
      await sleep(50);
    }
    return source;
  }

  /** Starts `p2psp peer` in `role` bound to `address`; resolves once it joined. */
  async startPeer(role: Role, address: string, extra: readonly string[] = []): Promise<LabProcess> {
    const lab = this.#lab;
    const peer = lab.spawnNode(role, this.#cli, [
      'peer',
      '--source',
      `${lab.publicHostAddress}:${SOURCE_PORT}`,
      '--address',
      address,
      '--player-port',
      String(PLAYER_PORT),
      '--player-address',
      '127.0.0.1',
      // NAT traversal alone: repair would ask a neighbour for what the NAT dropped.
      '--no-repair',
      ...extra,
    ]);
    this.#processes.push(peer);
    const line = await peer.nextLine(30_000);
    if (!line.includes('play:')) throw new Error(`peer in ${role} said ${line}: ${peer.stderr}`);
    return peer;
  }

  async #json<T>(role: Role, url: string): Promise<T> {
    const run = await this.#lab.run(
      role,
      process.execPath,
      ['-e', `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => console.log(t))`],
      { timeoutMilliseconds: 10_000 },
    );
    if (run.exitCode !== 0) throw new Error(`GET ${url} in ${role}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  peerStatus(role: Role): Promise<LabPeerStatus> {
    return this.#json(role, `http://127.0.0.1:${PLAYER_PORT}/status`);
  }

  async sourceMembers(): Promise<LabSourceMember[]> {
    const status = await this.#json<{ members: LabSourceMember[] }>(
      'public-host',
      `http://127.0.0.1:${SOURCE_STATUS_PORT}/status`,
    );
    return status.members;
  }

  /** A player on `role`'s peer for `millis`: what it read. */
  async play(role: Role, millis: number): Promise<PlayerResult> {
    const run = await this.#lab.run(
      role,
      process.execPath,
      [
        '--input-type=module',
        '-e',
        PLAYER_SCRIPT,
        `http://127.0.0.1:${PLAYER_PORT}/stream`,
        String(millis),
      ],
      { timeoutMilliseconds: millis + 10_000 },
    );
    if (run.exitCode !== 0) throw new Error(`player in ${role}: ${run.stderr}`);
    return JSON.parse(run.stdout) as PlayerResult;
  }

  /** Stops the feed and every process started, newest first (peers before the source). */
  async stop(): Promise<void> {
    if (this.#feed !== null) clearInterval(this.#feed);
    this.#feed = null;
    for (const child of this.#processes.splice(0).reverse()) await child.stop();
  }
}

/** One pair of the NAT matrix: what each side's peer and player got. */
export interface PairResult {
  readonly a: NatType;
  readonly b: NatType;
  readonly roles: readonly string[];
  readonly players: readonly [PlayerResult, PlayerResult];
  readonly statuses: readonly [LabPeerStatus, LabPeerStatus];
}

/**
 * Site a's host joins, then site b's, both detecting their NAT against `p2psp nat serve`
 * (so the source knows every type; the STUN server must be running, `startStun`), or with
 * `rfc5780: false` against the source's plain STUN (every NAT reports `unknown`); after
 * `settleMillis`, a player reads each peer's `/stream` for `playMillis`.
 */
export async function runPair(
  lab: Lab,
  cluster: LabCluster,
  a: NatType,
  b: NatType,
  { settleMillis = 3000, playMillis = 8000, rfc5780 = true } = {},
): Promise<PairResult> {
  lab.setNatType('a', a);
  lab.setNatType('b', b);
  const detection = rfc5780 ? cluster.stunFlag : [];
  try {
    await cluster.startSource();
    await cluster.startPeer('a-host', lab.sites.a.hostAddress, detection);
    await sleep(500);
    await cluster.startPeer('b-host', lab.sites.b.hostAddress, detection);
    await sleep(settleMillis);
    const players = await Promise.all([
      cluster.play('a-host', playMillis),
      cluster.play('b-host', playMillis),
    ]);
    const statuses = await Promise.all([
      cluster.peerStatus('a-host'),
      cluster.peerStatus('b-host'),
    ]);
    const roles = (await cluster.sourceMembers()).map((member) => member.role);
    return { a, b, roles, players, statuses };
  } finally {
    await cluster.stop();
  }
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
