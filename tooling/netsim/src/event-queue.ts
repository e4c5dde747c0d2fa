/**
 * The simulator's agenda: a binary min-heap of events keyed by (time, sequence). The
 * sequence number is the order in which events were scheduled, so two events at the same
 * virtual instant always run in the same order: that tie-break is what makes a run
 * reproducible (a heap alone is not stable).
 *
 * Hand-written rather than taken from a library because it sits on the hot path (about
 * one push and one pop per simulated datagram): events are plain objects of one shape,
 * recycled through a free list, and the comparison is inlined.
 */

/** What an event does when its time comes. */
export const EventKind = {
  /** A datagram reaches its destination host. */
  Datagram: 1,
  /** A node's core asked for `handleTimeout` at this time. */
  CoreTimer: 2,
  /** Something scheduled from outside (joins, leaves, the stream generator, TCP segments). */
  Action: 3,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export class SimulationEvent {
  time = 0;
  sequence = 0;
  kind: EventKind = EventKind.Action;
  /** Receiving node (datagram, timer), as an opaque index into the simulator's table. */
  target = 0;
  /** Timer generation (stale timers are skipped) or the destination port (datagram). */
  number = 0;
  /** The sender endpoint as the receiver sees it (datagram). */
  from: unknown = null;
  /** Datagram payload: a view, never copied. */
  bytes: Uint8Array | null = null;
  /** Extra datagram routing state (the NAT to check at arrival) or the action to run. */
  detail: unknown = null;
}

export class EventQueue {
  private heap: SimulationEvent[] = [];
  private free: SimulationEvent[] = [];
  private nextSequence = 0;

  get size(): number {
    return this.heap.length;
  }

  /** An event object to fill in and `push`; recycled ones come back from `release`. */
  allocate(): SimulationEvent {
    const event = this.free.pop();
    return event ?? new SimulationEvent();
  }

  /** Return a processed event to the pool (drop references so payloads can be collected). */
  release(event: SimulationEvent): void {
    event.from = null;
    event.bytes = null;
    event.detail = null;
    if (this.free.length < 4096) this.free.push(event);
  }

  push(event: SimulationEvent): void {
    event.sequence = this.nextSequence++;
    const heap = this.heap;
    let index = heap.length;
    heap.push(event);
    // Sift up.
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (
        parent.time < event.time ||
        (parent.time === event.time && parent.sequence < event.sequence)
      ) {
        break;
      }
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = event;
  }

  /** The earliest event's time, or Infinity when empty. */
  peekTime(): number {
    const first = this.heap[0];
    return first === undefined ? Number.POSITIVE_INFINITY : first.time;
  }

  pop(): SimulationEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    const length = heap.length;
    if (length > 0) {
      // Sift the last element down from the root.
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        let child = left;
        let childEvent = heap[left]!;
        if (right < length) {
          const rightEvent = heap[right]!;
          if (
            rightEvent.time < childEvent.time ||
            (rightEvent.time === childEvent.time && rightEvent.sequence < childEvent.sequence)
          ) {
            child = right;
            childEvent = rightEvent;
          }
        }
        if (
          last.time < childEvent.time ||
          (last.time === childEvent.time && last.sequence < childEvent.sequence)
        ) {
          break;
        }
        heap[index] = childEvent;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }
}
