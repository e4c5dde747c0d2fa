import { createRandom } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { HolePunchCore } from './hole-punch.js';
import { NatDiscoveryCore } from './nat-discovery.js';
import { NatError } from './nat-error.js';
import { resolveEndpoint } from './node/runtime.js';
import { startStunServer } from './node/stun-server-node.js';
import { StunClientCore } from './stun-client.js';
import { encodeStunMessage } from './stun-message.js';
import { StunServerCore } from './stun-server.js';

const random = createRandom(1);
const server = { address: '192.0.2.1', port: 3478 };

// One table for every misuse error: stable code, a message naming the option or the fix.
const cases: [string, () => unknown, string, RegExp][] = [
  ['rto 0', () => new StunClientCore({ random, rto: 0 }), 'P2PSP_ERR_NAT_OPTION', /rto/],
  [
    'Rc 0',
    () => new StunClientCore({ random, maxRequests: 0 }),
    'P2PSP_ERR_NAT_OPTION',
    /maxRequests/,
  ],
  [
    'server with half of RFC 5780',
    () => new StunServerCore({ primary: server, alternatePort: 3479 }),
    'P2PSP_ERR_NAT_OPTION',
    /both alternateAddress and alternatePort/,
  ],
  [
    'discovery without sockets',
    () => new NatDiscoveryCore({ server, localEndpoints: [], localAddresses: [], random }),
    'P2PSP_ERR_NAT_OPTION',
    /socket 0/,
  ],
  [
    'discovery started twice',
    () => {
      const core = new NatDiscoveryCore({
        server,
        localEndpoints: [server],
        localAddresses: [],
        random,
      });
      core.start(0);
      core.start(1);
    },
    'P2PSP_ERR_NAT_USAGE',
    /already/,
  ],
  [
    'punch timeout 0',
    () =>
      new HolePunchCore({
        localNat: { type: 'open', portStep: 0, mappedEndpoint: null },
        remoteNat: { type: 'open', portStep: 0, mappedEndpoint: null },
        remoteEndpoints: [],
        localMemberId: 1,
        random,
        timeout: 0,
      }),
    'P2PSP_ERR_NAT_OPTION',
    /timeout/,
  ],
  [
    'short transaction id',
    () =>
      encodeStunMessage({
        method: 1,
        messageClass: 'request',
        transactionId: new Uint8Array(11),
        attributes: [],
      }),
    'P2PSP_ERR_STUN_ENCODE',
    /12 bytes/,
  ],
  [
    'not an address',
    () =>
      encodeStunMessage({
        method: 1,
        messageClass: 'request',
        transactionId: new Uint8Array(12),
        attributes: [{ type: 'xor-mapped-address', endpoint: { address: 'example.org', port: 1 } }],
      }),
    'P2PSP_ERR_STUN_ENCODE',
    /not an IPv4 or IPv6 literal/,
  ],
];

describe('NatError', () => {
  it.each(cases)('%s', (_name, run, code, message) => {
    let thrown: unknown;
    try {
      run();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NatError);
    expect((thrown as NatError).code).toBe(code);
    expect((thrown as NatError).name).toBe('NatError');
    expect((thrown as NatError).message).toMatch(message);
  });

  it('a port outside 1..65535 in --stun is refused before any lookup', async () => {
    await expect(resolveEndpoint('127.0.0.1:70000', 3478)).rejects.toMatchObject({
      code: 'P2PSP_ERR_NAT_OPTION',
    });
    await expect(resolveEndpoint('[::1]:5', 3478)).resolves.toEqual({ address: '::1', port: 5 });
    await expect(resolveEndpoint('127.0.0.1', 3478)).resolves.toEqual({
      address: '127.0.0.1',
      port: 3478,
    });
  });

  it('an address not on this host is P2PSP_ERR_NAT_LISTEN, naming the endpoint', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never configured, and binding sends nothing.
    await expect(startStunServer({ address: '192.0.2.77', port: 0 })).rejects.toMatchObject({
      code: 'P2PSP_ERR_NAT_LISTEN',
      message: expect.stringMatching(/192\.0\.2\.77/),
    });
  });
});
