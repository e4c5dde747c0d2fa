import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type CoturnServer,
  createLab,
  type Lab,
  NAT_TYPES,
  type NatType,
  runNatDiscovery,
  startCoturn,
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

    beforeAll(async () => {
      lab = createLab({ runAddressCount: 2 });
      coturn = await startCoturn(lab);
    });

    afterAll(async () => {
      await coturn?.stop();
      await lab?.destroy();
    });

    describe('coturn client (turnutils_natdiscovery -m -f) against coturn server', () => {
      test.each(NAT_TYPES)('%s on both sites', async (natType) => {
        lab.setNatType('a', natType);
        lab.setNatType('b', natType);
        const results = await Promise.all(
          (['a', 'b'] as const).map((site) => runNatDiscovery(lab, site, lab.stunPrimaryAddress)),
        );
        for (const result of results) {
          const { mapping, filtering, classification } = result;
          expect({ mapping, filtering, classification }, result.output).toEqual(EXPECTED[natType]);
        }
      });
    });
  },
);
