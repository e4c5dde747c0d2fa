import type { NatType, RequestedRole } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import {
  type AdmissionPolicy,
  type AdmissionRequest,
  admit,
  externalCapacity,
} from './admission.js';
import { type MemberRole, MembershipTable } from './membership.js';

const credential = new TextEncoder().encode('operator-secret');

function request(
  role: RequestedRole = 'peer',
  nat: NatType = 'full-cone',
  address = '198.51.100.9',
  secret: Uint8Array = new Uint8Array(),
): AdmissionRequest {
  return {
    endpoint: { address, port: 5000 },
    role,
    nat: { type: nat, portStep: 0, mappedEndpoint: null },
    credential: secret,
  };
}

function tableWith(roles: MemberRole[]): MembershipTable {
  const table = new MembershipTable();
  roles.forEach((role, index) => {
    table.add({ role, endpoint: { address: `10.0.0.${index + 1}`, port: 1 }, now: 0 });
  });
  return table;
}

describe('admit', () => {
  const policy: Partial<AdmissionPolicy> = {
    maxMembers: 3,
    maxExternal: 1,
    monitorCredential: credential,
  };
  // One row per rule of admit(), in order.
  it.each([
    [
      'a monitor with the credential, even when full',
      ['monitor', 'member', 'member'],
      request('monitor', 'full-cone', '198.51.100.9', credential),
      { kind: 'admit', role: 'monitor', reason: 'monitor-credential' },
    ],
    [
      'a monitor with a wrong credential',
      [],
      request('monitor', 'full-cone', '198.51.100.9', new Uint8Array([1])),
      { kind: 'refuse', reason: 'bad-credential' },
    ],
    [
      'a liberated peer',
      ['monitor'],
      request('liberated'),
      { kind: 'admit', role: 'liberated', reason: 'requested' },
    ],
    [
      'a peer behind a random symmetric NAT',
      ['monitor'],
      request('peer', 'symmetric-random'),
      { kind: 'admit', role: 'external', reason: 'symmetric-nat' },
    ],
    [
      'a peer behind a sequential symmetric NAT',
      ['monitor'],
      request('peer', 'symmetric-sequential'),
      { kind: 'admit', role: 'external', reason: 'symmetric-nat' },
    ],
    [
      'a peer behind a port-preserving symmetric NAT',
      ['monitor'],
      request('peer', 'symmetric-preserving'),
      { kind: 'admit', role: 'member', reason: 'requested' },
    ],
    ['the first joiner', [], request(), { kind: 'admit', role: 'monitor', reason: 'first-joiner' }],
    [
      'a joiner when the monitor left',
      ['member'],
      request(),
      { kind: 'admit', role: 'monitor', reason: 'first-joiner' },
    ],
    [
      'a joiner when the cluster is full',
      ['monitor', 'member', 'member'],
      request(),
      { kind: 'admit', role: 'external', reason: 'cluster-full' },
    ],
    [
      'a joiner when cluster and externals are full',
      ['monitor', 'member', 'member', 'external'],
      request(),
      { kind: 'refuse', reason: 'cluster-full' },
    ],
    [
      'an ordinary joiner',
      ['monitor', 'member'],
      request(),
      { kind: 'admit', role: 'member', reason: 'requested' },
    ],
  ] as const)('%s', (_name, roles, joinRequest, expected) => {
    const decision = admit({ members: tableWith([...roles]), now: 0 }, joinRequest, policy);
    expect(decision).toMatchObject(expected);
  });

  it('makes a recently expelled address external, refused or a member, as the policy says', () => {
    const table = tableWith(['monitor']);
    const bad = table.add({
      role: 'member',
      endpoint: { address: '198.51.100.9', port: 7 },
      now: 0,
    });
    table.remove(bad.memberId, 'expelled', 1000);
    const state = (now: number) => ({ members: table, now });
    expect(admit(state(2000), request())).toMatchObject({
      role: 'external',
      reason: 'unreliable-before',
    });
    expect(admit(state(2000), request(), { unreliable: 'refuse' })).toMatchObject({
      kind: 'refuse',
      reason: 'banned',
    });
    expect(admit(state(2000), request(), { unreliable: 'member' })).toMatchObject({
      role: 'member',
    });
    // The memory fades: ten minutes later the address is a stranger again.
    expect(admit(state(1000 + 10 * 60 * 1000), request())).toMatchObject({ role: 'member' });
    // Another address is not affected.
    expect(admit(state(2000), request('peer', 'full-cone', '198.51.100.10'))).toMatchObject({
      role: 'member',
    });
  });

  it('refuses monitors and liberated peers the policy does not accept, saying how to fix it', () => {
    // No credential configured: the first joiner is a monitor anyway, later ones are refused.
    expect(admit({ members: tableWith([]), now: 0 }, request('monitor'))).toMatchObject({
      kind: 'admit',
      role: 'monitor',
      reason: 'first-joiner',
    });
    const members = tableWith(['monitor']);
    expect(admit({ members, now: 0 }, request('monitor'))).toMatchObject({
      kind: 'refuse',
      reason: 'bad-credential',
      message: expect.stringContaining('monitor credential'),
    });
    expect(
      admit({ members, now: 0 }, request('liberated'), { allowLiberated: false }),
    ).toMatchObject({ kind: 'refuse', reason: 'not-accepting' });
  });

  it('bounds externals so that a fed member uploads at most maxMemberUpload x the stream', () => {
    // N fed members each relay 1/N of the stream to N - 1 members and E externals:
    // (N - 1 + E) / N <= f gives E <= (f - 1) N + 1.
    const fed = (count: number) => Array.from({ length: count }, (): MemberRole => 'member');
    // No fed member uploads anything yet: maxExternal alone.
    expect(externalCapacity(tableWith([]))).toBe(64);
    expect(externalCapacity(tableWith(fed(2)))).toBe(3);
    expect(externalCapacity(tableWith(fed(4)), { maxMemberUpload: 1.5 })).toBe(3);
    expect(externalCapacity(tableWith(fed(100)))).toBe(64);
    expect(externalCapacity(tableWith(fed(100)), { maxExternal: 200 })).toBe(101);
    // Two fed members at 1.5x: (2 - 1 + E) / 2 <= 1.5 admits two externals, refuses a third.
    const policy = { maxMembers: 2, maxMemberUpload: 1.5 };
    const two = tableWith(['monitor', 'member', 'external']);
    expect(admit({ members: two, now: 0 }, request(), policy)).toMatchObject({
      role: 'external',
      reason: 'cluster-full',
    });
    two.add({ role: 'external', endpoint: { address: '10.0.0.9', port: 1 }, now: 0 });
    expect(admit({ members: two, now: 0 }, request(), policy)).toMatchObject({
      kind: 'refuse',
      reason: 'cluster-full',
      message: expect.stringMatching(/2 fed members feed 2 external peers.*1\.5x the stream/),
    });
  });

  it('checks the policy', () => {
    expect(() => admit({ members: tableWith([]), now: 0 }, request(), { maxMembers: -1 })).toThrow(
      /maxMembers/,
    );
    expect(() =>
      admit({ members: tableWith([]), now: 0 }, request(), { maxMemberUpload: 0.5 }),
    ).toThrow(/maxMemberUpload/);
  });
});
