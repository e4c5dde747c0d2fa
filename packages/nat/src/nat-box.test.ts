import { describe, expect, it } from 'vitest';
import { NAT_BOX_PRESETS } from './nat-box.js';
import { classifyNat } from './nat-classification.js';

describe('NAT box presets', () => {
  it.each(Object.entries(NAT_BOX_PRESETS))(
    '%s is what classifyNat names its behaviours',
    (type, behaviour) => {
      expect(classifyNat({ natPresent: true, ...behaviour })).toBe(type);
    },
  );
});
