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
  // Struct-of-arrays heap: the keys live in typed arrays, so sifting compares contiguous
  // numbers instead of chasing event objects across the JS heap (the agenda holds every
  // datagram in flight: hundreds of thousands while 1,000 peers say hello).
  private times = new Float64Array(1024);
  private sequences = new Float64Array(1024);
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
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    const sequences = new Float64Array(capacity);
    sequences.set(this.sequences);
    this.times = times;
    this.sequences = sequences;
    this.events.length = capacity;
  }

  push(event: SimulationEvent): void {
    const sequence = this.nextSequence++;
    event.sequence = sequence;
    const time = event.time;
    if (this.length === this.times.length) this.grow();
    const times = this.times;
    const sequences = this.sequences;
    const events = this.events;
    let index = this.length++;
    // Sift up.
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentTime = times[parent]!;
      if (parentTime < time || (parentTime === time && sequences[parent]! < sequence)) break;
      times[index] = parentTime;
      sequences[index] = sequences[parent]!;
      events[index] = events[parent];
      index = parent;
    }
    times[index] = time;
    sequences[index] = sequence;
    events[index] = event;
  }

  /** The earliest event's time, or Infinity when empty. */
  peekTime(): number {
    return this.length === 0 ? Number.POSITIVE_INFINITY : this.times[0]!;
  }

  pop(): SimulationEvent | undefined {
    if (this.length === 0) return undefined;
    const times = this.times;
    const sequences = this.sequences;
    const events = this.events;
    const top = events[0];
    const last = --this.length;
    const time = times[last]!;
    const sequence = sequences[last]!;
    const event = events[last];
    events[last] = undefined;
    if (last > 0) {
      // Sift the last element down from the root.
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= last) break;
        const right = left + 1;
        let child = left;
        if (
          right < last &&
          (times[right]! < times[left]! ||
            (times[right] === times[left] && sequences[right]! < sequences[left]!))
        ) {
          child = right;
        }
        const childTime = times[child]!;
        if (time < childTime || (time === childTime && sequence < sequences[child]!)) break;
        times[index] = childTime;
        sequences[index] = sequences[child]!;
        events[index] = events[child];
        index = child;
      }
      times[index] = time;
      sequences[index] = sequence;
      events[index] = event;
    }
    return top;
  }
}
