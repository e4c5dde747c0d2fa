import type { Instant } from '@p2psp/wire';
import { checkInteger, checkNumber } from './errors.js';

export interface LivenessTimeoutOptions {
  /** Buffer size B in chunks. */
  readonly bufferSize: number;
  /** Time between source chunks, in milliseconds. */
  readonly chunkIntervalMillis: number;
  /** How many chunk times of silence make a member vanished. Default B. */
  readonly chunkTimes?: number;
}

/**
 * The silence after which a member counts as vanished without goodbye (rule 6), in ms.
 * Default B chunk times: a live neighbour relays a chunk every round of |T| <= B chunk times
 * (rule 5), so B chunk times of silence is abnormal; checked at `nextLivenessDeadline`, a
 * member that vanished is dropped at most B chunk times after it was last heard, well within
 * the 2B.
 */
export function livenessTimeout(options: LivenessTimeoutOptions): number {
  const bufferSize = checkInteger('bufferSize', options.bufferSize, 1);
  const interval = checkNumber('chunkIntervalMillis', options.chunkIntervalMillis, 0, 3_600_000);
  const chunkTimes = checkNumber('chunkTimes', options.chunkTimes ?? bufferSize, 0, 1 << 24);
  return chunkTimes * interval;
}

/** Anything with a last-heard time (a `Member`, a peer's neighbour record). */
export interface Heard {
  readonly lastHeardAt: Instant;
}

/** The members silent for `timeoutMillis` or more at `now`, in iteration order. */
export function silentMembers<T extends Heard>(
  members: Iterable<T>,
  now: Instant,
  timeoutMillis: number,
): T[] {
  const silent: T[] = [];
  for (const member of members) {
    // The same sum as `nextLivenessDeadline`: `now - lastHeardAt >= timeout` can be false in
    // floating point at the very instant that deadline names, and a driver woken at that
    // deadline would then be handed the same deadline again, for ever.
    if (now >= member.lastHeardAt + timeoutMillis) silent.push(member);
  }
  return silent;
}

/**
 * The earliest instant at which some member becomes silent for `timeoutMillis`, or
 * undefined for no members: what a core returns from `pollTimeout` for liveness.
 */
export function nextLivenessDeadline(
  members: Iterable<Heard>,
  timeoutMillis: number,
): Instant | undefined {
  let deadline: Instant | undefined;
  for (const member of members) {
    const due = member.lastHeardAt + timeoutMillis;
    if (deadline === undefined || due < deadline) deadline = due;
  }
  return deadline;
}
