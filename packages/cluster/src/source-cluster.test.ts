import type { Endpoint, NatType } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { SourceCluster, type SourceJoinRequest } from './source-cluster.js';

/** 1,024-byte chunks at 128 kbit/s. */
const CHUNK_MILLIS = 64;
const at = (address: string, port = 4000): Endpoint => ({ address, port });
const join = (endpoint: Endpoint, nat: NatType = 'full-cone'): SourceJoinRequest => ({
  endpoint,
  role: 'peer',
  nat: { type: nat, portStep: 0, mappedEndpoint: null },
  credential: new Uint8Array(),
  privateEndpoint: null,
});

describe('SourceCluster', () => {
  it('admits the first joiner as monitor, feeds source-fed members round robin, not externals', () => {
    const cluster = new SourceCluster({ bufferSize: 16 });
    expect(cluster.join(join(at('10.0.0.1')), 0)).toMatchObject({
      kind: 'admitted',
      member: { memberId: 1, role: 'monitor' },
      reason: 'first-joiner',
    });
    cluster.join(join(at('10.0.0.2')), 0);
    expect(cluster.join(join(at('10.0.0.3'), 'symmetric-random'), 0)).toMatchObject({
      member: { role: 'external' },
    });
    const order = [0, 1, 2, 3].map((chunkNumber) => cluster.nextDestination(chunkNumber)?.memberId);
    expect(order).toEqual([1, 2, 1, 2]);
    expect(cluster.destinations.destinationOf(3)).toBe(2);
    expect(cluster.members.get(2)?.chunksSent).toBe(2);
    expect(cluster.members.get(3)?.chunksSent).toBe(0);
  });

  it('charges complaints, expels past the threshold and stops feeding the expelled', () => {
    const cluster = new SourceCluster({ bufferSize: 16, complaints: { threshold: 2 } });
    const monitor = at('10.0.0.1');
    cluster.join(join(monitor), 0);
    cluster.join(join(at('10.0.0.2')), 0);
    const outcomes = [1, 3, 5].map((chunkNumber) => {
      cluster.nextDestination(chunkNumber - 1);
      cluster.nextDestination(chunkNumber);
      return cluster.lostChunk(monitor, chunkNumber, chunkNumber, CHUNK_MILLIS);
    });
    expect(outcomes.map((outcome) => outcome.expulsions.length)).toEqual([0, 0, 1]);
    expect(outcomes[2]?.expulsions[0]).toMatchObject({
      member: { memberId: 2 },
      reason: 'expelled',
    });
    expect(cluster.members.has(2)).toBe(false);
    expect(cluster.scheduler.members()).toEqual([1]);
    expect(cluster.members.unreliableSince('10.0.0.2')).toBe(5);
    // It comes back: seed 000 makes a previously unreliable peer external.
    expect(cluster.join(join(at('10.0.0.2', 4001)), 6)).toMatchObject({
      member: { role: 'external' },
      reason: 'unreliable-before',
    });
  });

  it('member-silent: skips a member several members stopped hearing, feeds it again when heard, removes it after 5 s of silence', () => {
    const cluster = new SourceCluster({ bufferSize: 16, livenessTimeoutMillis: 10_000 });
    for (const host of [1, 2, 3, 4]) cluster.join(join(at(`10.0.0.${host}`)), 0);
    // Chunks 0-7 round robin: member 4 got 3 and 7, within the last B/2 = 8.
    for (let chunkNumber = 0; chunkNumber < 8; chunkNumber++) cluster.nextDestination(chunkNumber);
    expect(cluster.memberSilent(2, 4, 1500)).toEqual({ kind: 'noted', reporters: 1 });
    // Resent through the monitor (member 1), as LRS would: 4 may not have relayed them.
    expect(cluster.memberSilent(3, 4, 1500)).toEqual({
      kind: 'skipped',
      reporters: 2,
      resend: [
        { chunkNumber: 3, via: 1 },
        { chunkNumber: 7, via: 1 },
      ],
    });
    expect(cluster.scheduler.members()).toEqual([1, 2, 3]);
    // Its own stats report: it is alive, whatever the others said.
    cluster.heard(at('10.0.0.4'), 1600);
    expect(cluster.scheduler.members()).toEqual([1, 2, 3, 4]);
    cluster.memberSilent(2, 4, 6700);
    expect(cluster.memberSilent(3, 4, 6700)).toMatchObject({
      kind: 'removed',
      removal: { member: { memberId: 4 }, reason: 'timeout' },
    });
    expect(cluster.members.has(4)).toBe(false);
    expect(cluster.memberSilent(2, 4, 6800)).toEqual({ kind: 'ignored', reason: 'unknown' });
    expect(cluster.memberSilent(2, 2, 6800)).toEqual({ kind: 'ignored', reason: 'self' });
  });

  it('member-silent: a lying pair cannot remove a member that keeps reporting to the source', () => {
    const cluster = new SourceCluster({ bufferSize: 16, livenessTimeoutMillis: 10_000 });
    for (const host of [1, 2, 3, 4]) cluster.join(join(at(`10.0.0.${host}`)), 0);
    const outcomes: string[] = [];
    for (let now = 100; now < 60_000; now += 100) {
      // Its stats report every 2 s; the liars' reports every 100 ms.
      if (now % 2000 === 0) cluster.heard(at('10.0.0.4'), now);
      outcomes.push(cluster.memberSilent(2, 4, now).kind, cluster.memberSilent(3, 4, now).kind);
    }
    expect(outcomes).not.toContain('removed');
    expect(cluster.members.has(4)).toBe(true);
    // Skipped at times (between its reports), fed again whenever it is heard.
    expect(outcomes).toContain('skipped');
    cluster.heard(at('10.0.0.4'), 60_000);
    expect(cluster.scheduler.has(4)).toBe(true);
  });

  it('member-silent: without a member timeout nobody is removed for silence, only skipped', () => {
    const cluster = new SourceCluster({ bufferSize: 16 });
    for (const host of [1, 2, 3, 4]) cluster.join(join(at(`10.0.0.${host}`)), 0);
    cluster.memberSilent(2, 4, 60_000);
    expect(cluster.memberSilent(3, 4, 60_000)).toMatchObject({ kind: 'skipped' });
    expect(cluster.members.has(4)).toBe(true);
  });

  it('member-silent: never skips the last fed member', () => {
    const cluster = new SourceCluster({ bufferSize: 16 });
    cluster.join(join(at('10.0.0.1')), 0);
    cluster.join(join(at('10.0.0.2')), 0);
    // The monitor itself is skipped: no other monitor to resend through.
    expect(cluster.memberSilent(2, 1, 1500)).toEqual({ kind: 'skipped', reporters: 1, resend: [] });
    expect(cluster.memberSilent(1, 2, 1500)).toEqual({ kind: 'noted', reporters: 1 });
    expect(cluster.scheduler.members()).toEqual([2]);
  });

  it('ignores complaints from non-monitors and from strangers, saying why', () => {
    const cluster = new SourceCluster({ bufferSize: 16 });
    cluster.join(join(at('10.0.0.1')), 0);
    cluster.join(join(at('10.0.0.2')), 0);
    cluster.nextDestination(0);
    expect(cluster.lostChunk(at('10.0.0.2'), 0, 1, CHUNK_MILLIS).complaint).toMatchObject({
      kind: 'ignored',
      reason: 'not-monitor',
    });
    expect(cluster.lostChunk(at('192.0.2.9'), 0, 1, CHUNK_MILLIS).complaint).toMatchObject({
      kind: 'ignored',
      reason: 'unknown-complainer',
    });
  });

  it('with LRS resends a chunk every monitor lost, through a monitor', () => {
    const credential = new Uint8Array([1, 2, 3]);
    const cluster = new SourceCluster({
      bufferSize: 16,
      lostChunkRecovery: true,
      admission: { monitorCredential: credential },
    });
    cluster.join(join(at('10.0.0.1')), 0);
    cluster.join({ ...join(at('10.0.0.2')), role: 'monitor', credential }, 0);
    cluster.join(join(at('10.0.0.3')), 0);
    for (let chunkNumber = 0; chunkNumber < 3; chunkNumber++) cluster.nextDestination(chunkNumber);
    expect(cluster.lostChunk(at('10.0.0.1'), 2, 5, CHUNK_MILLIS).recovery).toMatchObject({
      kind: 'wait',
    });
    expect(cluster.lostChunk(at('10.0.0.2'), 2, 5, CHUNK_MILLIS)).toMatchObject({
      complaint: { kind: 'ignored', reason: 'duplicate' },
      recovery: { kind: 'resend', chunkNumber: 2, via: 1 },
    });
    expect(cluster.lostChunk(at('10.0.0.3'), 2, 5, CHUNK_MILLIS).recovery).toBeNull();
  });

  it('has LRS on by default, and off with lostChunkRecovery: false', () => {
    expect(new SourceCluster({ bufferSize: 16 }).recovery).not.toBeNull();
    expect(new SourceCluster({ bufferSize: 16, lostChunkRecovery: false }).recovery).toBeNull();
  });

  it('with LRS does not wait for a monitor that is still joining', () => {
    const credential = new Uint8Array([1, 2, 3]);
    const cluster = new SourceCluster({
      bufferSize: 16,
      lostChunkRecovery: true,
      feedOnJoin: false,
      admission: { monitorCredential: credential },
    });
    const first = cluster.join(join(at('10.0.0.1')), 0);
    cluster.join({ ...join(at('10.0.0.2')), role: 'monitor', credential }, 0);
    if (first.kind !== 'admitted') throw new Error('expected an admission');
    cluster.activate(first.member.memberId, at('10.0.0.1'), 1);
    cluster.nextDestination(0);
    expect(cluster.lostChunk(at('10.0.0.1'), 0, 5, CHUNK_MILLIS).recovery).toEqual({
      kind: 'resend',
      chunkNumber: 0,
      via: first.member.memberId,
    });
  });

  it('drops members silent for the liveness timeout and says when to look next', () => {
    const cluster = new SourceCluster({ bufferSize: 16, livenessTimeoutMillis: 100 });
    cluster.join(join(at('10.0.0.1')), 0);
    cluster.join(join(at('10.0.0.2')), 10);
    expect(cluster.nextDeadline()).toBe(100);
    cluster.heard(at('10.0.0.1'), 90);
    expect(cluster.nextDeadline()).toBe(110);
    expect(cluster.expireSilent(109)).toEqual([]);
    expect(
      cluster.expireSilent(110).map((removal) => [removal.member.memberId, removal.reason]),
    ).toEqual([[2, 'timeout']]);
    expect(cluster.scheduler.members()).toEqual([1]);
    expect(new SourceCluster({ bufferSize: 4 }).nextDeadline()).toBeUndefined();
  });

  it('replaces a member that joins again from the same endpoint, and says so', () => {
    const cluster = new SourceCluster({ bufferSize: 4 });
    cluster.join(join(at('10.0.0.1')), 0);
    cluster.join(join(at('10.0.0.2')), 0);
    expect(cluster.join(join(at('10.0.0.2')), 5)).toMatchObject({
      member: { memberId: 3 },
      replaced: { member: { memberId: 2 }, reason: 'leaving', removedAt: 5 },
    });
    expect(cluster.scheduler.members()).toEqual([1, 3]);
  });

  it('with feedOnJoin false feeds a member only once activate() gives its UDP endpoint', () => {
    const cluster = new SourceCluster({ bufferSize: 4, feedOnJoin: false });
    const tcp = at('10.0.0.1', 51000);
    const joined = cluster.join(join(tcp), 0);
    if (joined.kind !== 'admitted') throw new Error('expected an admission');
    expect(cluster.nextDestination(0)).toBeUndefined();
    // Its hello comes from the UDP socket, through the same NAT.
    expect(cluster.activate(joined.member.memberId, at('10.0.0.1', 4000), 7)).toMatchObject({
      member: { endpoint: at('10.0.0.1', 4000), lastHeardAt: 7 },
      replaced: null,
    });
    expect(cluster.members.byEndpoint(tcp)).toBeUndefined();
    expect(cluster.nextDestination(1)?.memberId).toBe(joined.member.memberId);
    expect(cluster.activate(99, at('10.0.0.9'), 8)).toBeUndefined();
  });

  it('activate removes a stale member listed at the hello endpoint instead of throwing', () => {
    const cluster = new SourceCluster({ bufferSize: 4, feedOnJoin: false });
    const old = cluster.join(join(at('10.0.0.1', 4000)), 0);
    const fresh = cluster.join(join(at('10.0.0.1', 51000)), 1);
    if (old.kind !== 'admitted' || fresh.kind !== 'admitted')
      throw new Error('expected admissions');
    const outcome = cluster.activate(fresh.member.memberId, at('10.0.0.1', 4000), 2);
    expect(outcome?.replaced).toMatchObject({ member: { memberId: old.member.memberId } });
    expect(cluster.members.size).toBe(1);
  });
});
