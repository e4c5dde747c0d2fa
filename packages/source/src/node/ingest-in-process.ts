import type { IngestHandlers, OpenedIngest } from './ingest.js';

/**
 * The stream pushed by code of this process: the shape of a peer's player tap (`StreamTap`
 * of @p2psp/peer), so a liberated peer's played stream feeds a source with no HTTP hop.
 */
export interface InProcessInput {
  /** The stream header: first, and again when a new stream begins (an ingest restart). */
  header(mediaType: string, header: Uint8Array): void;
  /** Stream bytes in order, from a sync point. */
  data(bytes: Uint8Array): void;
  /** The stream is over: the source says goodbye (`stream-end`) to its cluster and stops. */
  end(): void;
}

/**
 * An ingest fed in-process: `input` takes the stream, `opened` resolves at its first header
 * (the media type is the pusher's, the header bytes are the head to sniff) and is then
 * given to `startSource({ ingest })`. What comes before `pipe` is held, in order.
 */
export function createInProcessIngest(description = 'in-process'): {
  readonly input: InProcessInput;
  readonly opened: Promise<OpenedIngest>;
} {
  let handlers: IngestHandlers | null = null;
  let stopped = false;
  let started = false;
  // Calls made before `pipe`, replayed in order by it.
  const held: ((to: IngestHandlers) => void)[] = [];
  const deliver = (call: (to: IngestHandlers) => void) => {
    if (stopped) return;
    if (handlers === null) held.push(call);
    else call(handlers);
  };
  let open: (ingest: OpenedIngest) => void = () => {};
  const opened = new Promise<OpenedIngest>((resolve) => {
    open = resolve;
  });
  const input: InProcessInput = {
    header(mediaType, header) {
      if (started) deliver((to) => to.restart?.('new stream header'));
      deliver((to) => to.data(header));
      if (started) return;
      started = true;
      open({
        description,
        contentType: mediaType,
        fileName: null,
        head: header,
        pipe(to) {
          handlers = to;
          for (const call of held.splice(0)) call(to);
        },
        stop() {
          stopped = true;
          held.length = 0;
        },
      });
    },
    data(bytes) {
      if (started) deliver((to) => to.data(bytes));
    },
    end() {
      deliver((to) => to.end('in-process input ended'));
    },
  };
  return { input, opened };
}
