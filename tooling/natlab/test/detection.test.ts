import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type CoturnServer,
  createLab,
  detectNat,
  type Lab,
  NAT_TYPES,
  type NatType,
  OUR_STUN_PORT,
  type OurStunServer,
  runNatDiscovery,
  STUN_PORT,
  startCoturn,
  startOurStunServer,
} from '../src/index.js';
import { labSkipReason } from './lab-environment.js';

const skipReason = labSkipReason();

/** RFC 5780 behaviours each emulated NAT must show (RFC 4787 section 4 / 5 vocabulary). */
const EXPECTED: Record<NatType, { mapping: string; filtering: string; classification: string }> = {
  'full-cone': {
    mapping: 'endpoint-independent',
    filtering: 'endpoint-independent',
    classification: 'full-cone',
  },
  'restricted-cone': {
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
    classification: 'restricted-cone',
  },
  'port-restricted-cone': {
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    classification: 'port-restricted-cone',
  },
  // coturn's client tells mapping and filtering apart, not how ports are allocated.
  'symmetric-sequential': {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    classification: 'symmetric',
  },
  'symmetric-random': {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    classification: 'symmetric',
  },
};

describe.skipIf(skipReason !== null)(
  `NAT detection in the lab${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: Lab;
    let coturn: CoturnServer;
    let ourServer: OurStunServer;

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 4 });
      [coturn, ourServer] = await Promise.all([startCoturn(lab), startOurStunServer(lab)]);
    });

    afterAll(async () => {
      await coturn?.stop();
      await ourServer?.stop();
      await lab?.destroy();
    });

    // Per NAT type, the four client/server combinations run at once, each from its own
    // internal address (its own sequential counter, its own mappings), on both sites.
    describe.each(NAT_TYPES)('%s', (natType) => {
      const expected = EXPECTED[natType];

      beforeAll(() => {
        lab.setNatType('a', natType);
        lab.setNatType('b', natType);
      });

      test.concurrent.each([
        ['coturn server', STUN_PORT, 0],
        ['our STUN server', OUR_STUN_PORT, 1],
      ] as const)(
        'coturn client (turnutils_natdiscovery -m -f) against %s, both sites',
        async (_name, serverPort, slot) => {
          const results = await Promise.all(
            (['a', 'b'] as const).map((site) =>
              runNatDiscovery(lab, site, lab.stunPrimaryAddress, {
                serverPort,
                localAddress: lab.sites[site].runAddresses[slot],
              }),
            ),
          );
          for (const result of results) {
            const { mapping, filtering, classification } = result;
            expect({ mapping, filtering, classification }, result.output).toEqual(expected);
          }
        },
      );

      // Our detector also samples port allocation, so it names the symmetric kind exactly.
      test.concurrent.each([
        ['coturn server', STUN_PORT, 2],
        ['our STUN server', OUR_STUN_PORT, 3],
      ] as const)(
        'our detector (@p2psp/nat) against %s, both sites',
        async (_name, serverPort, slot) => {
          const results = await Promise.all(
            (['a', 'b'] as const).map((site) =>
              detectNat(lab, site, {
                serverAddress: lab.stunPrimaryAddress,
                serverPort,
                localAddress: lab.sites[site].runAddresses[slot],
              }),
            ),
          );
          for (const [index, result] of results.entries()) {
            const site = index === 0 ? 'a' : 'b';
            const { mapping, filtering } = result;
            const summary = JSON.stringify({ ...result, mappings: undefined });
            expect(result.report.type, summary).toBe(natType);
            expect({ mapping, filtering }, summary).toEqual({
              mapping: expected.mapping,
              filtering: expected.filtering,
            });
            expect(result.report.mappedEndpoint?.address).toBe(lab.sites[site].wanAddress);
            if (natType === 'symmetric-sequential') expect(result.report.portStep).toBe(2);
          }
        },
      );
    });
  },
);
