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
      lab = createLab({ runAddressCount: 2 });
      [coturn, ourServer] = await Promise.all([startCoturn(lab), startOurStunServer(lab)]);
    });

    afterAll(async () => {
      await coturn?.stop();
      await ourServer?.stop();
      await lab?.destroy();
    });

    async function setBoth(natType: NatType): Promise<void> {
      lab.setNatType('a', natType);
      lab.setNatType('b', natType);
    }

    describe('coturn client (turnutils_natdiscovery -m -f) against coturn server', () => {
      test.each(NAT_TYPES)('%s on both sites', async (natType) => {
        await setBoth(natType);
        const results = await Promise.all(
          (['a', 'b'] as const).map((site) => runNatDiscovery(lab, site, lab.stunPrimaryAddress)),
        );
        for (const result of results) {
          const { mapping, filtering, classification } = result;
          expect({ mapping, filtering, classification }, result.output).toEqual(EXPECTED[natType]);
        }
      });
    });

    describe('coturn client (turnutils_natdiscovery -m -f) against our STUN server', () => {
      test.each(NAT_TYPES)('%s on both sites', async (natType) => {
        await setBoth(natType);
        const results = await Promise.all(
          (['a', 'b'] as const).map((site) =>
            runNatDiscovery(lab, site, lab.stunPrimaryAddress, { serverPort: OUR_STUN_PORT }),
          ),
        );
        for (const result of results) {
          const { mapping, filtering, classification } = result;
          expect({ mapping, filtering, classification }, result.output).toEqual(EXPECTED[natType]);
        }
      });
    });

    // Our detector also measures port allocation, so it names the symmetric kind exactly.
    for (const [serverName, serverPort] of [
      ['coturn', STUN_PORT],
      ['our STUN server', OUR_STUN_PORT],
    ] as const) {
      describe(`our detector (@p2psp/nat) against ${serverName}`, () => {
        test.each(NAT_TYPES)('%s on both sites', async (natType) => {
          await setBoth(natType);
          const results = await Promise.all(
            (['a', 'b'] as const).map((site) =>
              detectNat(lab, site, { serverAddress: lab.stunPrimaryAddress, serverPort }),
            ),
          );
          for (const [index, result] of results.entries()) {
            const site = index === 0 ? 'a' : 'b';
            const { mapping, filtering } = result;
            const expected = EXPECTED[natType];
            const summary = JSON.stringify({ ...result, mappings: undefined });
            expect(result.report.type, summary).toBe(natType);
            expect({ mapping, filtering }, summary).toEqual({
              mapping: expected.mapping,
              filtering: expected.filtering,
            });
            expect(result.report.mappedEndpoint?.address).toBe(lab.sites[site].wanAddress);
            if (natType === 'symmetric-sequential') expect(result.report.portStep).toBe(2);
          }
        });
      });
    }
  },
);
