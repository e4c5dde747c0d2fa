import type {
  ConnectionId,
  CoreInput,
  CoreOutput,
  Endpoint,
  Instant,
  SansIoCore,
} from '@p2psp/wire';

/**
 * Small cores used only to test the network model (not the protocol): they send what
 * they are told and record what they receive, through the same SansIoCore contract the
 * real source and peer cores use.
 */
abstract class QueueCore implements SansIoCore {
  protected readonly outputs: CoreOutput[] = [];
  protected timer: Instant | undefined;

  abstract handle(input: CoreInput, now: Instant): void;
  handleTimeout(_now: Instant): void {}
  pollTimeout(): Instant | undefined {
    return this.timer;
  }
  pollOutput(): CoreOutput | undefined {
    return this.outputs.shift();
  }
  /** Lets a test push an output (e.g. a `stopped`) as if the core had made it. */
  emit(output: CoreOutput): void {
    this.outputs.push(output);
  }
}

export interface ReceivedDatagram {
  readonly from: Endpoint;
  readonly sequence: number;
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly length: number;
}

export interface ProbePlan {
  readonly target: Endpoint;
  readonly count: number;
  readonly intervalMs: number;
  readonly startAt?: number;
  readonly size?: number;
  /** Several datagrams per tick (a burst). */
  readonly perTick?: number;
}

/**
 * Sends numbered datagrams (sequence and send time in the first 12 bytes) on a schedule,
 * records every datagram it receives, and can echo them back.
 */
export class ProbeCore extends QueueCore {
  readonly received: ReceivedDatagram[] = [];
  private sent = 0;
  private plans: ProbePlan[];
  private nextTick: number[];

  constructor(
    plans: ProbePlan[] = [],
    private readonly echo = false,
  ) {
    super();
    this.plans = plans;
    this.nextTick = plans.map((plan) => plan.startAt ?? 0);
    this.updateTimer();
  }

  /** Sends one datagram now (for hand-driven tests). */
  send(to: Endpoint, sequence: number, now: number, size = 12): void {
    const bytes = new Uint8Array(Math.max(12, size));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, sequence);
    view.setFloat64(4, now);
    this.outputs.push({ type: 'send-datagram', to, bytes });
  }

  handle(input: CoreInput, now: Instant): void {
    if (input.type !== 'datagram') return;
    const view = new DataView(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
    const sequence = input.bytes.length >= 12 ? view.getUint32(0) : -1;
    const sentAt = input.bytes.length >= 12 ? view.getFloat64(4) : Number.NaN;
    this.received.push({
      from: input.from,
      sequence,
      sentAt,
      receivedAt: now,
      length: input.bytes.length,
    });
    if (this.echo) this.outputs.push({ type: 'send-datagram', to: input.from, bytes: input.bytes });
  }

  override handleTimeout(now: Instant): void {
    this.plans.forEach((plan, index) => {
      while (this.nextTick[index]! <= now && this.sentOf(index) < plan.count) {
        for (
          let burst = 0;
          burst < (plan.perTick ?? 1) && this.sentOf(index) < plan.count;
          burst++
        ) {
          this.send(plan.target, this.sent, now, plan.size);
          this.sent += 1;
          this.perPlan[index] = this.sentOf(index) + 1;
        }
        this.nextTick[index]! += plan.intervalMs;
      }
    });
    this.updateTimer();
  }

  private readonly perPlan: number[] = [];
  private sentOf(index: number): number {
    return this.perPlan[index] ?? 0;
  }

  private updateTimer(): void {
    let next: number | undefined;
    this.plans.forEach((plan, index) => {
      if (this.sentOf(index) >= plan.count) return;
      const tick = this.nextTick[index]!;
      if (next === undefined || tick < next) next = tick;
    });
    this.timer = next;
  }
}

export interface TcpEvent {
  readonly type: 'open' | 'data' | 'closed';
  readonly connection: ConnectionId;
  readonly at: number;
  readonly text?: string;
  readonly remote?: Endpoint;
}

/** Records TCP events; connects and writes when told; a listener echoes when asked to. */
export class TcpCore extends QueueCore {
  readonly events: TcpEvent[] = [];
  private nextConnectionId = -1;

  constructor(private readonly echo = false) {
    super();
  }

  connect(to: Endpoint): ConnectionId {
    const connection = this.nextConnectionId--;
    this.outputs.push({ type: 'connect', connection, to });
    return connection;
  }

  write(connection: ConnectionId, text: string): void {
    this.outputs.push({ type: 'write', connection, bytes: new TextEncoder().encode(text) });
  }

  close(connection: ConnectionId): void {
    this.outputs.push({ type: 'close', connection, reason: 'test done' });
  }

  handle(input: CoreInput, now: Instant): void {
    switch (input.type) {
      case 'connection-open':
        this.events.push({
          type: 'open',
          connection: input.connection,
          at: now,
          remote: input.remote,
        });
        break;
      case 'connection-data': {
        const text = new TextDecoder().decode(input.bytes);
        this.events.push({ type: 'data', connection: input.connection, at: now, text });
        if (this.echo) this.write(input.connection, text);
        break;
      }
      case 'connection-closed':
        this.events.push({
          type: 'closed',
          connection: input.connection,
          at: now,
          text: input.reason,
        });
        break;
      default:
    }
  }
}
