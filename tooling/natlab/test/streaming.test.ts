import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sleep } from '../src/cluster-run.js';
import { createLab, type Lab, LabCluster, type LabProcess } from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

// A real cluster streaming across two NATs, as a user runs it: the built CLI (`p2psp source`
// on the public host, `p2psp peer` behind each NAT router). The peer that joins second is
// behind a NAT the first one's NAT filters: unless the source introduces new members to
// existing ones, the first peer never hears from it and loses every chunk the source gave
// the other (half of them with two peers).
const cli = join(import.meta.dirname, '..', 'node_modules', 'p2psp', 'dist', 'p2psp.mjs');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
let skipReason = labSkipReason();
if (skipReason === null && !existsSync(cli)) {
  if (inCi) throw new Error(`CI=true but the CLI is not built (${cli}): run pnpm turbo run build`);
  skipReason = 'the CLI is not built: run `pnpm --filter p2psp build` first';
}

/** At 49 chunks a second, 8 s of streaming plays well over this many. */
const MIN_CHUNKS_PLAYED = 150;

/** The `nat-detect` log line of a peer (pino JSON on stderr). */
function natDetectLine(peer: LabProcess): { type: string; mappedEndpoint: string | null } {
  const line = peer.stderr.split('\n').find((text) => text.includes('"nat-detect"'));
  expect(line, peer.stderr.slice(0, 2000)).toBeDefined();
  return JSON.parse(line!) as { type: string; mappedEndpoint: string | null };
}

describe.skipIf(skipReason !== null)(
  `a cluster streaming across two NATs${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    let cluster: LabCluster;

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 0 });
      cluster = new LabCluster(lab, cli);
      // `p2psp nat serve` (RFC 5780) for the peers given `--stun`; the others detect
      // against the source's plain STUN on the cluster port.
      await cluster.startStun();
      return async () => {
        await lab?.destroy();
      };
    });

    afterEach(async () => {
      await cluster.stop();
    });

    async function expectEveryChunk(site: 'a' | 'b', pair: string): Promise<void> {
      const status = await cluster.peerStatus(`${site}-host`);
      console.log(
        `natlab streaming, ${pair}, ${site}: played ${status.chunksPlayed}, lost ${status.chunksLost}`,
      );
      expect(status.chunksPlayed, site).toBeGreaterThan(MIN_CHUNKS_PLAYED);
      // Half the chunks come only through the other peer's NAT.
      expect(status.chunksLost, site).toBeLessThanOrEqual(Math.max(2, status.chunksPlayed / 100));
    }

    test('port-restricted cones on both sites, plain STUN at the source: both peers get every chunk', {
      timeout: 90_000,
    }, async () => {
      lab.setNatType('a', 'port-restricted-cone');
      lab.setNatType('b', 'port-restricted-cone');
      await cluster.startSource();
      const first = await cluster.startPeer('a-host', lab.sites.a.hostAddress);
      await sleep(1000);
      const second = await cluster.startPeer('b-host', lab.sites.b.hostAddress);
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
      const members = await cluster.sourceMembers();
      expect(members.map((member) => member.nat)).toEqual(['unknown', 'unknown']);
      for (const site of ['a', 'b'] as const) {
        expect((await cluster.peerStatus(`${site}-host`)).members, site).toBe(2);
        await expectEveryChunk(site, 'port-restricted x port-restricted');
      }
    });

    test('RFC 5780 detection (p2psp nat serve, --stun): port-restricted cone and sequential symmetric, predicted ports', {
      timeout: 90_000,
    }, async () => {
      lab.setNatType('a', 'port-restricted-cone');
      lab.setNatType('b', 'symmetric-sequential');
      await cluster.startSource();
      const first = await cluster.startPeer('a-host', lab.sites.a.hostAddress, cluster.stunFlag);
      await sleep(1000);
      const second = await cluster.startPeer('b-host', lab.sites.b.hostAddress, cluster.stunFlag);
      expect(natDetectLine(first).type).toBe('port-restricted-cone');
      expect(natDetectLine(second).type).toBe('symmetric-sequential');
      await sleep(8000);
      // The source keeps each report; the symmetric joiner is an external peer (seed 000).
      const members = await cluster.sourceMembers();
      expect(members.map((member) => [member.nat, member.role])).toEqual([
        ['port-restricted-cone', 'monitor'],
        ['symmetric-sequential', 'external'],
      ]);
      // The first peer reached the second only on a predicted port of its NAT: the second
      // gets every chunk (all of them through the first peer's relays).
      await expectEveryChunk('b', 'port-restricted -> symmetric-sequential');
    });
  },
);
