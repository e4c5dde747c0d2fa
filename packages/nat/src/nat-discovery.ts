import {
  type Endpoint,
  type Instant,
  type NatReport,
  type Random,
  UNKNOWN_NAT_REPORT,
} from '@p2psp/wire';
import { canonicalIpAddress } from './ip-address.js';
import { classifyNat, type NatBehaviour } from './nat-classification.js';
import { NatError } from './nat-error.js';
import { analysePortAllocation, type PortAllocation, type PortSample } from './port-allocation.js';
import {
  StunClientCore,
  type StunRetransmissionOptions,
  type StunTransactionResult,
} from './stun-client.js';
import { findStunAttribute, mappedEndpointOf, type StunAttribute } from './stun-message.js';

/**
 * Sans-IO NAT behaviour discovery (RFC 5780 §4.3 mapping, §4.4 filtering) plus port
 * allocation. The driver owns the sockets: socket 0 is the caller's (the one the stream will
 * use), sockets 1..n are fresh ones used only to sample how the NAT allocates ports.
 *
 * Order matters and follows RFC 5780 §4.4: filtering is tested on socket 0 before socket 0
 * sends anywhere but A1:P1, since sending to A2 first would open an address-dependent
 * filter and fake a more permissive result.
 */

export interface NatDiscoveryOptions {
  /** The server's primary endpoint (A1:P1). */
  readonly server: Endpoint;
  /** The local endpoint of each driver socket, index = socket number; at least socket 0. */
  readonly localEndpoints: readonly Endpoint[];
  /**
   * Addresses of this host (a socket bound to 0.0.0.0 is reachable on all of them); a
   * mapped endpoint on one of them with the same port means no NAT.
   */
  readonly localAddresses: readonly string[];
  readonly random: Random;
  /** Per transaction. Default: RTO 250 ms, Rc 4, Rm 4 (2.75 s to give up). */
  readonly retransmission?: StunRetransmissionOptions;
  /**
   * How many times a test whose answer did not come is run again before the silence is read
   * as "filtered" (each run already retransmits). Default 2.
   */
  readonly attempts?: number;
  readonly maxSequentialGap?: number;
  readonly software?: string;
}

export const DEFAULT_DISCOVERY_RETRANSMISSION: Required<StunRetransmissionOptions> = {
  rto: 250,
  maxRequests: 4,
  lastWaitFactor: 4,
};

export interface MappingObservation {
  readonly socket: number;
  readonly local: Endpoint;
  /** The server endpoint the request went to. */
  readonly destination: Endpoint;
  readonly mapped: Endpoint;
}

export interface FilteringTest {
  readonly attempts: number;
  readonly answered: boolean;
}

export type NatDiscoveryFailureCode =
  | 'P2PSP_ERR_NAT_SERVER_ERROR'
  | 'P2PSP_ERR_NAT_NO_BEHAVIOUR_DISCOVERY';

export interface NatDiscoveryResult {
  /** What the join request carries (wire `NatReport`). */
  readonly report: NatReport;
  readonly natPresent: boolean | null;
  readonly mapping: NatBehaviour;
  readonly filtering: NatBehaviour;
  readonly allocation: PortAllocation;
  readonly portStep: number;
  /** Every mapping seen, in the order they were created. */
  readonly mappings: readonly MappingObservation[];
  /**
   * The public port of the newest mapping the NAT allocated during discovery: the base for
   * port prediction if the peer relays it (HolePunchOptions.remotePortHint). Null if none.
   */
  readonly lastMappedPort: number | null;
  /** The server's OTHER-ADDRESS (A2:P2), null when the server cannot do RFC 5780. */
  readonly otherAddress: Endpoint | null;
  readonly filteringTests: {
    readonly changeAddressAndPort: FilteringTest;
    readonly changePort: FilteringTest;
  };
  /** Why the verdict is partial (for example a plain STUN server), or null. */
  readonly warning: string | null;
  readonly requestsSent: number;
  readonly elapsed: number;
}

/** The verdicts of a discovery that learned nothing: no answer, or no mapped address in it. */
export const NOTHING_LEARNED = {
  report: UNKNOWN_NAT_REPORT,
  natPresent: null,
  mapping: 'unknown',
  filtering: 'unknown',
  allocation: 'unknown',
  portStep: 0,
} as const satisfies Partial<NatDiscoveryResult>;

export type NatDiscoveryOutput =
  | {
      readonly type: 'send-datagram';
      readonly socket: number;
      readonly to: Endpoint;
      readonly bytes: Uint8Array;
    }
  | { readonly type: 'discovery-end'; readonly result: NatDiscoveryResult };

interface Probe {
  readonly socket: number;
  readonly to: Endpoint;
  readonly attributes?: readonly StunAttribute[];
}

type Outcome = StunTransactionResult;
type DiscoverySteps = Generator<readonly Probe[], NatDiscoveryResult, readonly Outcome[]>;

export class NatDiscoveryCore {
  readonly #options: NatDiscoveryOptions;
  readonly #client: StunClientCore;
  readonly #outputs: NatDiscoveryOutput[] = [];
  #steps: DiscoverySteps | undefined;
  #waiting = new Map<string, number>();
  #outcomes: Outcome[] = [];
  #startedAt: Instant = 0;
  #now: Instant = 0;
  #requestsSent = 0;
  #result: NatDiscoveryResult | undefined;

  constructor(options: NatDiscoveryOptions) {
    if (options.localEndpoints.length < 1) {
      throw new NatError(
        'P2PSP_ERR_NAT_OPTION',
        'NAT discovery: localEndpoints needs at least socket 0 (the caller socket)',
      );
    }
    const attempts = options.attempts ?? 2;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new NatError(
        'P2PSP_ERR_NAT_OPTION',
        `NAT discovery: attempts must be an integer >= 1, got ${attempts}`,
      );
    }
    this.#options = options;
    this.#client = new StunClientCore({
      random: options.random,
      ...DEFAULT_DISCOVERY_RETRANSMISSION,
      ...options.retransmission,
      ...(options.software ? { software: options.software } : {}),
    });
  }

  start(now: Instant): void {
    if (this.#steps)
      throw new NatError('P2PSP_ERR_NAT_USAGE', 'NAT discovery: start() was already called');
    this.#startedAt = now;
    this.#now = now;
    this.#steps = this.#discover();
    this.#advance(this.#steps.next());
  }

  get result(): NatDiscoveryResult | undefined {
    return this.#result;
  }

  /** Offers a datagram from `socket`; true when it was one of our STUN answers. */
  handleDatagram(bytes: Uint8Array, from: Endpoint, socket: number, now: Instant): boolean {
    this.#now = now;
    const consumed = this.#client.handleDatagram(bytes, from, now, socket);
    this.#pump();
    return consumed;
  }

  handleTimeout(now: Instant): void {
    this.#now = now;
    this.#client.handleTimeout(now);
    this.#pump();
  }

  pollTimeout(): Instant | undefined {
    return this.#client.pollTimeout();
  }

  pollOutput(): NatDiscoveryOutput | undefined {
    return this.#outputs.shift();
  }

  #pump(): void {
    for (let output = this.#client.pollOutput(); output; output = this.#client.pollOutput()) {
      if (output.type === 'send-datagram') {
        this.#requestsSent++;
        this.#outputs.push(output);
        continue;
      }
      const index = this.#waiting.get(output.transaction);
      if (index === undefined) continue;
      this.#waiting.delete(output.transaction);
      this.#outcomes[index] = output.result;
      if (this.#waiting.size === 0 && this.#steps) {
        this.#advance(this.#steps.next(this.#outcomes));
      }
    }
  }

  #advance(step: IteratorResult<readonly Probe[], NatDiscoveryResult>): void {
    if (step.done) {
      this.#result = step.value;
      this.#outputs.push({ type: 'discovery-end', result: step.value });
      return;
    }
    this.#outcomes = [];
    this.#waiting = new Map();
    step.value.forEach((probe, index) => {
      const key = this.#client.start(
        {
          to: probe.to,
          socket: probe.socket,
          ...(probe.attributes ? { attributes: probe.attributes } : {}),
        },
        this.#now,
      );
      this.#waiting.set(key, index);
    });
    this.#pump();
  }

  *#discover(): DiscoverySteps {
    const options = this.#options;
    const attempts = options.attempts ?? 2;
    const server = options.server;
    const mappings: MappingObservation[] = [];
    const samples: PortSample[] = [];
    const seenPerSocket = new Map<number, Endpoint[]>();
    const local = (socket: number): Endpoint => options.localEndpoints[socket]!;
    const record = (socket: number, destination: Endpoint, mapped: Endpoint): void => {
      const seen = seenPerSocket.get(socket) ?? [];
      // Only a new public endpoint is a new allocation; an endpoint-independent NAT reuses one.
      if (!seen.some((endpoint) => sameAddressAndPort(endpoint, mapped))) {
        samples.push({
          localPort: local(socket).port,
          mappedPort: mapped.port,
          firstOfSocket: seen.length === 0,
        });
        seen.push(mapped);
        seenPerSocket.set(socket, seen);
      }
      mappings.push({ socket, local: local(socket), destination, mapped });
    };
    const notAnswered: FilteringTest = { attempts: 0, answered: false };
    const finish = ({
      report,
      ...partial
    }: Omit<
      NatDiscoveryResult,
      'mappings' | 'lastMappedPort' | 'requestsSent' | 'elapsed' | 'filteringTests' | 'otherAddress'
    > &
      Partial<
        Pick<NatDiscoveryResult, 'filteringTests' | 'otherAddress'>
      >): NatDiscoveryResult => ({
      report,
      otherAddress: null,
      filteringTests: { changeAddressAndPort: notAnswered, changePort: notAnswered },
      ...partial,
      mappings,
      lastMappedPort: samples.at(-1)?.mappedPort ?? null,
      requestsSent: this.#requestsSent,
      elapsed: this.#now - this.#startedAt,
    });

    // Test I (RFC 5780 §4.3): a plain Binding to A1:P1, repeated before calling UDP blocked.
    let first: Outcome | undefined;
    for (let attempt = 0; attempt < attempts && !first?.ok; attempt++) {
      [first] = yield [{ socket: 0, to: server }];
      if (first && !first.ok && first.error.code === 'P2PSP_ERR_STUN_ERROR_RESPONSE') break;
    }
    if (!first?.ok) {
      const serverError =
        first && !first.ok && first.error.code === 'P2PSP_ERR_STUN_ERROR_RESPONSE';
      return finish({
        ...NOTHING_LEARNED,
        report: {
          type: serverError ? 'unknown' : 'udp-blocked',
          portStep: 0,
          mappedEndpoint: null,
        },
        warning: serverError
          ? `the STUN server refused a plain Binding request (${first && !first.ok ? first.error.message : ''})`
          : null,
      });
    }
    const mapped1 = mappedEndpointOf(first.response);
    if (!mapped1) {
      return finish({
        ...NOTHING_LEARNED,
        warning: 'the STUN server answered without XOR-MAPPED-ADDRESS or MAPPED-ADDRESS',
      });
    }
    record(0, server, mapped1);
    const natPresent = !this.#isLocal(mapped1, local(0));
    const otherAddress = findStunAttribute(first.response, 'other-address')?.endpoint ?? null;

    if (!otherAddress) {
      // A plain RFC 8489 server: mapping and filtering cannot be measured (RFC 5780 §4.2).
      return finish({
        report: { type: natPresent ? 'unknown' : 'open', portStep: 0, mappedEndpoint: mapped1 },
        natPresent,
        mapping: natPresent ? 'unknown' : 'endpoint-independent',
        filtering: 'unknown',
        allocation: 'unknown',
        portStep: 0,
        warning:
          'the STUN server gave no OTHER-ADDRESS, so it cannot do RFC 5780 behaviour discovery: point --stun at a server with two addresses (p2psp nat serve --alternate-address)',
      });
    }
    const alternateAddress = otherAddress.address;
    const alternatePort = otherAddress.port;

    // Filtering (RFC 5780 §4.4), on socket 0 while it has only talked to A1:P1.
    // Test II asks the answer from A2:P2, test III from A1:P2. Silence is retried before it
    // is believed: one lost datagram must never read as a stricter filter.
    const changeBoth: StunAttribute[] = [
      { type: 'change-request', changeAddress: true, changePort: true },
    ];
    const changePort: StunAttribute[] = [
      { type: 'change-request', changeAddress: false, changePort: true },
    ];
    let bothAnswered = false;
    let portAnswered = false;
    let bothAttempts = 0;
    let portAttempts = 0;
    let filteringRefused = false;
    for (let attempt = 0; attempt < attempts && !bothAnswered; attempt++) {
      const probes: Probe[] = [{ socket: 0, to: server, attributes: changeBoth }];
      if (!portAnswered) probes.push({ socket: 0, to: server, attributes: changePort });
      const outcomes = yield probes;
      bothAttempts++;
      const bothOutcome = outcomes[0]!;
      if (bothOutcome.ok && this.#cameFrom(bothOutcome.from, alternateAddress, alternatePort)) {
        bothAnswered = true;
      }
      if (!bothOutcome.ok && bothOutcome.error.code === 'P2PSP_ERR_STUN_ERROR_RESPONSE')
        filteringRefused = true;
      if (!portAnswered) {
        portAttempts++;
        const portOutcome = outcomes[1]!;
        if (portOutcome.ok && this.#cameFrom(portOutcome.from, server.address, alternatePort)) {
          portAnswered = true;
        }
      }
      if (filteringRefused) break;
    }
    const filtering: NatBehaviour = filteringRefused
      ? 'unknown'
      : bothAnswered
        ? 'endpoint-independent'
        : portAnswered
          ? 'address-dependent'
          : 'address-and-port-dependent';
    const filteringTests = {
      changeAddressAndPort: { attempts: bothAttempts, answered: bothAnswered },
      changePort: { attempts: portAttempts, answered: portAnswered },
    };

    // Mapping (RFC 5780 §4.3): tests II (A2:P1) and III (A2:P2), plus A1:P2 as one more
    // allocation sample. One at a time, so the NAT allocates in a known order.
    const mappingOf = function* (
      destination: Endpoint,
      socket = 0,
    ): Generator<readonly Probe[], Endpoint | null, readonly Outcome[]> {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const [outcome] = yield [{ socket, to: destination }];
        const mapped = outcome?.ok ? mappedEndpointOf(outcome.response) : null;
        if (mapped) return mapped;
      }
      return null;
    };
    const a2p1 = { address: alternateAddress, port: server.port };
    const a2p2 = { address: alternateAddress, port: alternatePort };
    const a1p2 = { address: server.address, port: alternatePort };
    const mapped2 = yield* mappingOf(a2p1);
    if (mapped2) record(0, a2p1, mapped2);
    let mapping: NatBehaviour = 'unknown';
    let mapped3: Endpoint | null = null;
    if (mapped2 && sameAddressAndPort(mapped1, mapped2)) {
      mapping = 'endpoint-independent';
    } else if (mapped2) {
      mapped3 = yield* mappingOf(a2p2);
      if (mapped3) {
        record(0, a2p2, mapped3);
        mapping = sameAddressAndPort(mapped2, mapped3)
          ? 'address-dependent'
          : 'address-and-port-dependent';
      }
    }
    if (mapping !== 'endpoint-independent') {
      const mapped4 = yield* mappingOf(a1p2);
      if (mapped4) record(0, a1p2, mapped4);
    }

    // Port allocation: each fresh socket makes one new mapping towards A1:P1, in order.
    for (let socket = 1; socket < options.localEndpoints.length; socket++) {
      const mapped = yield* mappingOf(server, socket);
      if (mapped) record(socket, server, mapped);
    }
    const allocation = analysePortAllocation(samples, {
      ...(options.maxSequentialGap ? { maxSequentialGap: options.maxSequentialGap } : {}),
    });
    const type = classifyNat({ natPresent, mapping, filtering, allocation: allocation.allocation });
    const symmetric = type.startsWith('symmetric');
    const portStep =
      type === 'symmetric-sequential' || type === 'symmetric-preserving'
        ? Math.max(1, allocation.step)
        : 0;
    return finish({
      report: { type, portStep, mappedEndpoint: mapped1 },
      natPresent,
      mapping,
      filtering,
      allocation: allocation.allocation,
      portStep: symmetric ? portStep : allocation.step,
      otherAddress,
      filteringTests,
      warning: filteringRefused
        ? 'the STUN server refused CHANGE-REQUEST: filtering is unknown'
        : mapping === 'unknown'
          ? 'the mapping tests to the alternate address got no answer'
          : null,
    });
  }

  #isLocal(mapped: Endpoint, socketLocal: Endpoint): boolean {
    if (mapped.port !== socketLocal.port) return false;
    const address = canonicalIpAddress(mapped.address);
    return [socketLocal.address, ...this.#options.localAddresses].some(
      (candidate) => canonicalIpAddress(candidate) === address,
    );
  }

  #cameFrom(from: Endpoint, address: string, port: number): boolean {
    return from.port === port && canonicalIpAddress(from.address) === canonicalIpAddress(address);
  }
}

function sameAddressAndPort(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && canonicalIpAddress(a.address) === canonicalIpAddress(b.address);
}
