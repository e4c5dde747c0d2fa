import type { CoreEvent, CoreOutput } from './sans-io.js';

/**
 * The FIFO a `SansIoCore` drains through `pollOutput()`: cores `push` outputs while they
 * handle an input and the driver `shift`s them out. `shift` is O(1) (Array.prototype.shift
 * copies the whole array), which matters when a core queues a datagram per neighbour per
 * chunk.
 */
export class OutputQueue<Event extends CoreEvent = CoreEvent> {
  #items: CoreOutput<Event>[] = [];
  #head = 0;

  push(output: CoreOutput<Event>): void {
    this.#items.push(output);
  }

  shift(): CoreOutput<Event> | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const output = this.#items[this.#head];
    this.#items[this.#head] = undefined as unknown as CoreOutput<Event>;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return output;
  }

  /** Queues an `event` output. */
  emit(event: Event): void {
    this.push({ type: 'event', event });
  }
}
