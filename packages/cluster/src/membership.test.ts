import { NO_MEMBER } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  flagsOfRole,
  isFedBySource,
  MEMBER_ROLES,
  MembershipTable,
  roleOfFlags,
  toMemberInfo,
} from './membership.js';

const at = (address: string, port: number) => ({ address, port });

describe('MembershipTable', () => {
  it('allocates ids from 1, never reuses them, and finds members by id, endpoint and IP', () => {
    const table = new MembershipTable();
    const a = table.add({ role: 'monitor', endpoint: at('10.0.0.1', 4000), now: 5 });
    const b = table.add({ role: 'member', endpoint: at('10.0.0.2', 4000), now: 6 });
    const c = table.add({ role: 'member', endpoint: at('10.0.0.2', 4001), now: 7 });
    expect([a.memberId, b.memberId, c.memberId]).toEqual([1, 2, 3]);
    table.remove(c.memberId, 'leaving', 8);
    const d = table.add({ role: 'member', endpoint: at('10.0.0.2', 4001), now: 9 });
    expect(d.memberId).toBe(4);

    expect(table.get(2)?.endpoint).toEqual(at('10.0.0.2', 4000));
    expect(table.byEndpoint(at('10.0.0.2', 4001))?.memberId).toBe(4);
    expect(table.byEndpoint(at('10.0.0.2', 4002))).toBeUndefined();
    expect(table.byAddress('10.0.0.2').map((member) => member.memberId)).toEqual([2, 4]);
    expect(table.byAddress('10.9.9.9')).toEqual([]);
    expect(table.monitorIds()).toEqual([1]);
    expect(table.count()).toBe(3);
    expect(table.count('member')).toBe(2);
  });

  it('iterates in join order (the round-robin order of rule 1) and filters by role', () => {
    const table = new MembershipTable();
    table.add({ role: 'member', endpoint: at('10.0.0.3', 1), now: 0 });
    table.add({ role: 'external', endpoint: at('10.0.0.4', 1), now: 0 });
    table.add({ role: 'monitor', endpoint: at('10.0.0.5', 1), now: 0 });
    expect([...table].map((member) => member.memberId)).toEqual([1, 2, 3]);
    expect(table.members(['monitor', 'member']).map((member) => member.memberId)).toEqual([1, 3]);
  });

  it('keeps the facts the source needs: NAT report, private endpoint, join and heard times, counters', () => {
    const table = new MembershipTable();
    const nat = { type: 'full-cone' as const, portStep: 0, mappedEndpoint: at('1.2.3.4', 9) };
    const member = table.add({
      role: 'member',
      endpoint: at('1.2.3.4', 9),
      privateEndpoint: at('192.168.1.2', 9),
      nat,
      now: 100,
    });
    table.heard(member.memberId, 150);
    table.heard(member.memberId, 120); // out of order: last heard never goes back
    table.recordChunkSent(member.memberId);
    table.recordChunkSent(member.memberId);
    table.recordComplaint(member.memberId);
    expect(table.get(member.memberId)).toMatchObject({
      publicAddress: '1.2.3.4',
      privateEndpoint: at('192.168.1.2', 9),
      nat,
      joinedAt: 100,
      lastHeardAt: 150,
      chunksSent: 2,
      complaints: 1,
    });
  });

  it('re-indexes a member whose endpoint changes', () => {
    const table = new MembershipTable();
    const member = table.add({ role: 'member', endpoint: at('10.0.0.1', 1), now: 0 });
    table.setEndpoint(member.memberId, at('10.0.0.9', 2));
    expect(table.byEndpoint(at('10.0.0.1', 1))).toBeUndefined();
    expect(table.byEndpoint(at('10.0.0.9', 2))?.memberId).toBe(member.memberId);
    expect(table.byAddress('10.0.0.1')).toEqual([]);
    expect(table.get(member.memberId)?.publicAddress).toBe('10.0.0.9');
  });

  it('removes with a reason, keeps a bounded history and remembers unreliable addresses', () => {
    const table = new MembershipTable({ removalHistory: 2 });
    for (let index = 1; index <= 4; index++) {
      table.add({ role: 'member', endpoint: at(`10.0.0.${index}`, 1), now: 0 });
    }
    expect(table.remove(1, 'leaving', 10)?.reason).toBe('leaving');
    expect(table.remove(1, 'leaving', 11)).toBeUndefined();
    table.remove(2, 'expelled', 12);
    table.remove(3, 'timeout', 13);
    expect(table.removals().map((removal) => [removal.member.memberId, removal.reason])).toEqual([
      [2, 'expelled'],
      [3, 'timeout'],
    ]);
    expect(table.unreliableSince('10.0.0.2')).toBe(12);
    expect(table.unreliableSince('10.0.0.3')).toBeUndefined();
    expect(table.has(2)).toBe(false);
    expect(table.size).toBe(1);
  });

  it('takes ids given from outside (a peer mirroring the source) and allocates above them', () => {
    const table = new MembershipTable();
    table.add({ role: 'member', endpoint: at('10.0.0.1', 1), now: 0, memberId: 41 });
    expect(table.add({ role: 'member', endpoint: at('10.0.0.2', 1), now: 0 }).memberId).toBe(42);
  });

  it.each([
    ['a duplicate id', { memberId: 1, endpoint: at('10.0.0.2', 1) }, 'P2PSP_ERR_MEMBER_EXISTS'],
    ['NO_MEMBER', { memberId: NO_MEMBER, endpoint: at('10.0.0.2', 1) }, 'P2PSP_ERR_MEMBER_EXISTS'],
    ['a duplicate endpoint', { endpoint: at('10.0.0.1', 1) }, 'P2PSP_ERR_MEMBER_EXISTS'],
  ])('refuses %s with a stable code', (_name, entry, code) => {
    const table = new MembershipTable();
    table.add({ role: 'member', endpoint: at('10.0.0.1', 1), now: 0 });
    expect(() => table.add({ role: 'member', now: 0, ...entry })).toThrow(
      expect.objectContaining({ code, name: 'ClusterError' }),
    );
  });

  it('names unknown ids and bad options with stable codes', () => {
    const table = new MembershipTable();
    expect(() => table.heard(7, 0)).toThrow(
      expect.objectContaining({ code: 'P2PSP_ERR_UNKNOWN_MEMBER' }),
    );
    expect(() => new MembershipTable({ firstMemberId: 0 })).toThrow(
      expect.objectContaining({
        code: 'P2PSP_ERR_INVALID_OPTION',
        message: expect.stringContaining('firstMemberId'),
      }),
    );
  });

  it('maps roles to wire flags and back, and says which roles the source feeds', () => {
    for (const role of MEMBER_ROLES) expect(roleOfFlags(flagsOfRole(role))).toBe(role);
    expect(MEMBER_ROLES.filter(isFedBySource)).toEqual(['monitor', 'member']);
    const table = new MembershipTable();
    const member = table.add({ role: 'external', endpoint: at('10.0.0.1', 1), now: 0 });
    expect(toMemberInfo(member)).toEqual({
      memberId: 1,
      endpoint: at('10.0.0.1', 1),
      privateEndpoint: null,
      flags: { monitor: false, external: true, liberated: false },
    });
  });

  it('snapshots are copies that later changes do not touch', () => {
    const table = new MembershipTable();
    table.add({ role: 'member', endpoint: at('10.0.0.1', 1), now: 0 });
    const snapshot = table.snapshot();
    table.recordChunkSent(1);
    expect(snapshot[0]?.chunksSent).toBe(0);
    expect(table.get(1)?.chunksSent).toBe(1);
  });
});
