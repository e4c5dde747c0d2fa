import { type Endpoint, formatEndpoint } from './endpoint.js';
import type { OutputQueue } from './output-queue.js';

/**
 * Counts a datagram a core dropped (brief rule 3: bad input is dropped, counted and logged
 * once): `drops[reason]` goes up, and only the first drop of each reason is reported, as a
 * `datagram-drop` warn event, so a flood of bad datagrams cannot flood the log. Cores expose
 * `drops` as `stats().datagramsDropped`.
 */
export function countDrop<Reason extends string>(
  outputs: OutputQueue,
  drops: Record<Reason, number>,
  reason: Reason,
  from: Endpoint,
  detail?: string,
): void {
  drops[reason]++;
  if (drops[reason] === 1) {
    outputs.event('datagram-drop', 'warn', {
      reason,
      from: formatEndpoint(from),
      detail: detail ?? null,
      note: 'first of its kind; later ones are only counted (stats().datagramsDropped)',
    });
  }
}
