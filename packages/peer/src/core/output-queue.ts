import type { CoreEvent, CoreOutput } from '@p2psp/wire';

/** FIFO of core outputs; `shift` without Array.prototype.shift's O(n) copy. */
export class OutputQueue {
  #items: CoreOutput[] = [];
  #head = 0;

  push(output: CoreOutput): void {
    this.#items.push(output);
  }

  shift(): CoreOutput | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const output = this.#items[this.#head];
    this.#items[this.#head] = undefined as unknown as CoreOutput;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return output;
  }

  event(name: string, level: CoreEvent['level'], fields: CoreEvent['fields'] = {}): void {
    this.push({ type: 'event', event: { name, level, fields } });
  }
}
