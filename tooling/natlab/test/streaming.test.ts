import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createLab, type Lab, type LabProcess, type SiteName } from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

// Issue 6, integration: a real cluster streaming across two NATs, as a user runs it: the
// built CLI (`p2psp source` on the public host, `p2psp peer` behind each NAT router). The
// peer that joins second is behind a NAT the first one's NAT filters: before the source
// introduced new members to existing ones, the first peer never heard from it and lost
// every chunk the source gave the other (half of them with two peers).
const cli = join(import.meta.dirname, '..', 'node_modules', 'p2psp', 'dist', 'p2psp.mjs');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
let skipReason = labSkipReason();
if (skipReason === null && !existsSync(cli)) {
  if (inCi) throw new Error(`CI=true but the CLI is not built (${cli}): run pnpm turbo run build`);
  skipReason = 'the CLI is not built: run `pnpm --filter p2psp build` first';
}

const SOURCE_PORT = 4552;
const STATUS_PORT = 9100;
const PLAYER_PORT = 8080;
/** The feed: 1 KiB every 20 ms (400 kbit/s, about 49 chunks a second), at most 40 s. */
const FEED_PIECES = 2000;

interface PeerStatus {
  readonly members: number;
  readonly chunksPlayed: number;
  readonly chunksLost: number;
  readonly chunksReceived: number;
}

interface SourceMember {
  readonly endpoint: string;
  readonly role: string;
  readonly nat: string;
}

describe.skipIf(skipReason !== null)(
  `a cluster streaming across two NATs${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    const processes: LabProcess[] = [];
    let feed: NodeJS.Timeout | null = null;

    beforeAll(() => {
      lab = createLab({ runAddressCount: 0 });
      return async () => {
        await lab?.destroy();
      };
    });

    afterEach(async () => {
      if (feed !== null) clearInterval(feed);
      feed = null;
      // By PID, newest first (peers before the source).
      for (const child of processes.splice(0).reverse()) await child.stop();
    });

    /** Starts `p2psp source` on the public host, fed a bounded live stream on stdin. */
    async function startSource(): Promise<LabProcess> {
      const source = lab.spawnNode('public-host', cli, [
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
        String(STATUS_PORT),
      ]);
      processes.push(source);
      let pieces = 0;
      feed = setInterval(() => {
        pieces += 1;
        if (pieces > FEED_PIECES) {
          if (feed !== null) clearInterval(feed);
          source.child.stdin?.end();
          return;
        }
        source.child.stdin?.write(Buffer.alloc(1024, pieces & 0xff));
      }, 20);
      await until(() => source.stderr.includes('status-listen'), 15_000, 'the source to listen');
      return source;
    }

    /** Starts `p2psp peer` on a site's private host; resolves once it joined. */
    async function startPeer(site: SiteName, extra: readonly string[] = []): Promise<LabProcess> {
      const peer = lab.spawnNode(`${site}-host`, cli, [
        'peer',
        '--source',
        `${lab.publicHostAddress}:${SOURCE_PORT}`,
        '--address',
        lab.sites[site].hostAddress,
        '--player-port',
        String(PLAYER_PORT),
        // Measure NAT traversal alone: chunk repair would ask a neighbour for what the NAT
        // dropped (and fail the same way, but this keeps the figures plain DBS).
        '--no-repair',
        ...extra,
      ]);
      processes.push(peer);
      // `play: URL` on stdout once the join is accepted.
      expect(await peer.nextLine(20_000)).toContain('play:');
      return peer;
    }

    async function httpJson<T>(role: Parameters<Lab['run']>[0], url: string): Promise<T> {
      const run = await lab.run(
        role,
        process.execPath,
        ['-e', `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => console.log(t))`],
        { timeoutMilliseconds: 10_000 },
      );
      expect(run.exitCode, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as T;
    }

    const peerStatus = (site: SiteName) =>
      httpJson<PeerStatus>(`${site}-host`, `http://127.0.0.1:${PLAYER_PORT}/status`);
    const sourceMembers = async () =>
      (
        await httpJson<{ members: SourceMember[] }>(
          'public-host',
          `http://127.0.0.1:${STATUS_PORT}/status`,
        )
      ).members;

    /** The `nat-detect` log line of a peer (pino JSON on stderr). */
    function natDetectLine(peer: LabProcess): { type: string; mappedEndpoint: string | null } {
      const line = peer.stderr.split('\n').find((text) => text.includes('"nat-detect"'));
      expect(line, peer.stderr.slice(0, 2000)).toBeDefined();
      return JSON.parse(line!) as { type: string; mappedEndpoint: string | null };
    }

    test('port-restricted cones on both sites, plain STUN at the source: both peers get every chunk', {
      timeout: 90_000,
    }, async () => {
      lab.setNatType('a', 'port-restricted-cone');
      lab.setNatType('b', 'port-restricted-cone');
      await startSource();
      const first = await startPeer('a');
      await sleep(1000);
      const second = await startPeer('b');
      // Each detected its NAT against the source's STUN on the cluster port: behind a NAT,
      // a plain server tells `unknown`, with the mapped endpoint on the router's WAN address.
      for (const [peer, site] of [
        [first, 'a'],
        [second, 'b'],
      ] as const) {
        const detected = natDetectLine(peer);
        expect(detected.type).toBe('unknown');
        expect(detected.mappedEndpoint?.startsWith(`${lab.sites[site].wanAddress}:`)).toBe(true);
      }
      await sleep(8000);
      const members = await sourceMembers();
      expect(members.map((member) => member.nat)).toEqual(['unknown', 'unknown']);
      for (const site of ['a', 'b'] as const) {
        const status = await peerStatus(site);
        console.log(
          `natlab streaming, port-restricted x port-restricted, ${site}: played ${status.chunksPlayed}, lost ${status.chunksLost}`,
        );
        expect(status.members, site).toBe(2);
        expect(status.chunksPlayed, site).toBeGreaterThan(150);
        // Half the chunks come only through the other peer's NAT.
        expect(status.chunksLost, site).toBeLessThanOrEqual(Math.max(2, status.chunksPlayed / 100));
      }
    });

    test('RFC 5780 detection (p2psp nat serve, --stun): port-restricted cone and sequential symmetric, predicted ports', {
      timeout: 90_000,
    }, async () => {
      lab.setNatType('a', 'port-restricted-cone');
      lab.setNatType('b', 'symmetric-sequential');
      const stun = lab.spawnNode('stun', cli, [
        'nat',
        'serve',
        '--address',
        lab.stunPrimaryAddress,
        '--alternate-address',
        lab.stunAlternateAddress,
      ]);
      processes.push(stun);
      expect(await stun.nextLine(15_000)).toContain('(RFC 5780)');
      await startSource();
      const stunFlag = ['--stun', `${lab.stunPrimaryAddress}:3478`];
      const first = await startPeer('a', stunFlag);
      await sleep(1000);
      const second = await startPeer('b', stunFlag);
      expect(natDetectLine(first).type).toBe('port-restricted-cone');
      expect(natDetectLine(second).type).toBe('symmetric-sequential');
      await sleep(8000);
      // The source keeps each report; the symmetric joiner is an external peer (seed 000).
      const members = await sourceMembers();
      expect(members.map((member) => [member.nat, member.role])).toEqual([
        ['port-restricted-cone', 'monitor'],
        ['symmetric-sequential', 'external'],
      ]);
      // The first peer reached the second only on a predicted port of its NAT: the second
      // gets every chunk (all of them through the first peer's relays).
      const secondStatus = await peerStatus('b');
      console.log(
        `natlab streaming, port-restricted -> symmetric-sequential, b: played ${secondStatus.chunksPlayed}, lost ${secondStatus.chunksLost}`,
      );
      expect(secondStatus.chunksPlayed).toBeGreaterThan(150);
      expect(secondStatus.chunksLost).toBeLessThanOrEqual(
        Math.max(2, secondStatus.chunksPlayed / 100),
      );
    });
  },
);

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
