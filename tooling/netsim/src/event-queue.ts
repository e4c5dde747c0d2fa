/**
 * The simulator's agenda: a 4-ary min-heap of events keyed by (time, sequence). The
 * sequence number is the order in which events were scheduled, so two events at the same
 * virtual instant always run in the same order: that tie-break is what makes a run
 * reproducible (a heap alone is not stable).
 *
 * Hand-written rather than taken from a library because it sits on the hot path (about
 * one push and one pop per simulated datagram): events are plain objects of one shape,
 * recycled through a free list, and the comparison is inlined. Push and pop are
 * O(log n) in the events in flight, and nothing else in the queue grows with the run.
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
  // A 4-ary heap over struct-of-arrays keys: `keys` holds (time, sequence) pairs side by
  // side, so a node's four children's keys are 64 contiguous bytes (one or two cache lines)
  // and the heap is half as deep as a binary one. The agenda holds every datagram in flight
  // (hundreds of thousands while 1,000 peers say hello): sifting is memory-bound, and this
  // touches about half the cache lines a binary heap with separate key arrays does.
  private keys = new Float64Array(2 * 1024);
  private events: (SimulationEvent | undefined)[] = new Array(1024);
  private length = 0;
  private free: SimulationEvent[] = [];
  private nextSequence = 0;

  get size(): number {
    return this.length;
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

  private grow(): void {
    const keys = new Float64Array(2 * this.keys.length);
    keys.set(this.keys);
    this.keys = keys;
    this.events.length = keys.length / 2;
  }

  push(event: SimulationEvent): void {
    const sequence = this.nextSequence++;
    event.sequence = sequence;
    const time = event.time;
    if (2 * this.length === this.keys.length) this.grow();
    const keys = this.keys;
    const events = this.events;
    let index = this.length++;
    // Sift up.
    while (index > 0) {
      const parent = (index - 1) >> 2;
      const parentTime = keys[2 * parent]!;
      if (parentTime < time || (parentTime === time && keys[2 * parent + 1]! < sequence)) break;
      keys[2 * index] = parentTime;
      keys[2 * index + 1] = keys[2 * parent + 1]!;
      events[index] = events[parent];
      index = parent;
    }
    keys[2 * index] = time;
    keys[2 * index + 1] = sequence;
    events[index] = event;
  }

  /** The earliest event's time, or Infinity when empty. */
  peekTime(): number {
    return this.length === 0 ? Number.POSITIVE_INFINITY : this.keys[0]!;
  }

  pop(): SimulationEvent | undefined {
    if (this.length === 0) return undefined;
    const keys = this.keys;
    const events = this.events;
    const top = events[0];
    const last = --this.length;
    const time = keys[2 * last]!;
    const sequence = keys[2 * last + 1]!;
    const event = events[last];
    events[last] = undefined;
    if (last > 0) {
      // Sift the last element down from the root: move up the smallest of up to four
      // children while it is smaller.
      let index = 0;
      for (;;) {
        const first = 4 * index + 1;
        if (first >= last) break;
        const end = Math.min(first + 4, last);
        let child = first;
        let childTime = keys[2 * first]!;
        let childSequence = keys[2 * first + 1]!;
        for (let other = first + 1; other < end; other += 1) {
          const otherTime = keys[2 * other]!;
          if (
            otherTime < childTime ||
            (otherTime === childTime && keys[2 * other + 1]! < childSequence)
          ) {
            child = other;
            childTime = otherTime;
            childSequence = keys[2 * other + 1]!;
          }
        }
        if (time < childTime || (time === childTime && sequence < childSequence)) break;
        keys[2 * index] = childTime;
        keys[2 * index + 1] = childSequence;
        events[index] = events[child];
        index = child;
      }
      keys[2 * index] = time;
      keys[2 * index + 1] = sequence;
      events[index] = event;
    }
    return top;
  }
}
