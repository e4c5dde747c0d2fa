import type { NatType } from '@p2psp/wire';
import type { PortAllocation } from './port-allocation.js';

/** RFC 4787 / RFC 5780 §4.3 and §4.4 behaviours. */
export type NatBehaviour =
  | 'endpoint-independent'
  | 'address-dependent'
  | 'address-and-port-dependent'
  | 'unknown';

export interface NatBehaviours {
  /** False when the mapped endpoint is one of our own (no NAT on the path). */
  readonly natPresent: boolean;
  readonly mapping: NatBehaviour;
  readonly filtering: NatBehaviour;
  readonly allocation: PortAllocation;
}

/**
 * Folds RFC 5780 behaviours into the classic names (the table in the README):
 *
 * | mapping \ filtering   | endpoint-independent | address-dependent | address-and-port-dependent |
 * |-----------------------|----------------------|-------------------|----------------------------|
 * | no NAT                | open                 | restricted-cone   | port-restricted-cone       |
 * | endpoint-independent  | full-cone            | restricted-cone   | port-restricted-cone       |
 * | address(-and-port)-dependent | symmetric-preserving / -sequential / -random by allocation |
 *
 * A host without NAT behind a filtering firewall is named after the filter: that is what
 * hole punching has to beat.
 */
export function classifyNat(behaviours: NatBehaviours): NatType {
  const { natPresent, mapping, filtering, allocation } = behaviours;
  if (mapping === 'address-dependent' || mapping === 'address-and-port-dependent') {
    if (allocation === 'preserving') return 'symmetric-preserving';
    if (allocation === 'sequential') return 'symmetric-sequential';
    return 'symmetric-random';
  }
  if (!natPresent && filtering === 'unknown') return 'open';
  if (mapping === 'unknown' || filtering === 'unknown') return 'unknown';
  if (filtering === 'endpoint-independent') return natPresent ? 'full-cone' : 'open';
  if (filtering === 'address-dependent') return 'restricted-cone';
  return 'port-restricted-cone';
}
