/**
 * Port allocation behaviour (RFC 4787 §4.1, RFC 5780 §4.3 note on port prediction) from a
 * series of mappings. P2PSP (NTS) predicted the next port of a sequential NAT as the last
 * observed port plus a step, the step being the greatest common divisor of the observed
 * differences; we do the same.
 */

export type PortAllocation = 'preserving' | 'sequential' | 'random' | 'unknown';

export interface PortSample {
  /** The local port of the socket that created the mapping. */
  readonly localPort: number;
  /** The public port the NAT chose. */
  readonly mappedPort: number;
  /** True when this was the socket's first mapping (the NAT could keep the local port). */
  readonly firstOfSocket: boolean;
}

export interface PortAllocationAnalysis {
  readonly allocation: PortAllocation;
  /** The measured step for sequential (and preserving NATs that fall back to sequence), else 0. */
  readonly step: number;
}

export interface PortAllocationOptions {
  /**
   * The largest gap between consecutive new mappings still read as "sequential": other hosts
   * behind the same NAT take ports in between. Random ports almost never fall this close.
   */
  readonly maxSequentialGap?: number;
}

export function greatestCommonDivisor(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** The step of a sequence of ports in allocation order, or 0 when it does not look sequential. */
export function sequentialStep(ports: readonly number[], maxGap = 64): number {
  if (ports.length < 2) return 0;
  let step = 0;
  for (let index = 1; index < ports.length; index++) {
    const difference = ports[index]! - ports[index - 1]!;
    if (difference <= 0 || difference > maxGap) return 0;
    step = greatestCommonDivisor(step, difference);
  }
  return step;
}

/**
 * Classifies the samples, given in the order the mappings were created. Needs at least three
 * samples to say anything but "unknown".
 */
export function analysePortAllocation(
  samples: readonly PortSample[],
  options: PortAllocationOptions = {},
): PortAllocationAnalysis {
  const maxGap = options.maxSequentialGap ?? 64;
  if (samples.length < 3) return { allocation: 'unknown', step: 0 };
  const firsts = samples.filter((sample) => sample.firstOfSocket);
  const preserving =
    firsts.length >= 2 && firsts.every((sample) => sample.mappedPort === sample.localPort);
  // A preserving NAT that must pick another port (a second mapping of the same socket) often
  // counts up from there: measure that step too, it is what port prediction needs.
  const later = samples
    .filter((sample) => !sample.firstOfSocket)
    .map((sample) => sample.mappedPort);
  if (preserving) return { allocation: 'preserving', step: sequentialStep(later, maxGap) };
  const step = sequentialStep(
    samples.map((sample) => sample.mappedPort),
    maxGap,
  );
  if (step > 0) return { allocation: 'sequential', step };
  return { allocation: 'random', step: 0 };
}
