import {
  decodeDatagram,
  type Endpoint,
  encodeDatagram,
  formatEndpoint,
  type Instant,
  type MemberId,
  type NatReport,
  NO_MEMBER,
  type Random,
} from '@p2psp/wire';
import { canonicalIpAddress } from './ip-address.js';
import { NatError } from './nat-error.js';
import { punchFeasibility } from './punch-feasibility.js';

/**
 * Sans-IO UDP hole punching (P2PSP NTS): both sides send `hello` datagrams (the wire codec's
 * own message) to every candidate endpoint of the other, in paced rounds, and answer each
 * hello with a `hello-ack` to wherever it came from. A side has succeeded when an ack to its
 * own nonce arrives: both directions work for that endpoint. Candidates for a sequential or
 * preserving symmetric NAT are predicted: last known port + k x step, k = 1..32.
 * Exchanging candidates (the rendezvous) is the caller's business.
 */

export interface HolePunchOptions {
  readonly localNat: NatReport;
  readonly remoteNat: NatReport;
  /**
   * The remote's endpoints as the rendezvous saw them (public, freshest last) and, when
   * known, its private endpoint (EMS). Empty means `remoteNat.mappedEndpoint`.
   */
  readonly remoteEndpoints: readonly Endpoint[];
  /**
   * The last port the remote's NAT allocated, when the remote relayed it (for example the
   * last mapping of its discovery, `NatDiscoveryResult.lastMappedPort`). Predictions count
   * from it; without it they count from the freshest public endpoint.
   */
  readonly remotePortHint?: number;
  readonly localMemberId: MemberId;
  /** Only hellos from this member are answered; NO_MEMBER accepts any. */
  readonly remoteMemberId?: MemberId;
  readonly random: Random;
  /** Pause between rounds, in ms. Default 100. */
  readonly roundInterval?: number;
  /** Give up after this long, in ms. Default 5000. */
  readonly timeout?: number;
  /** Predicted ports for a sequential symmetric remote (P2PSP used a bounded set). Default 32. */
  readonly maxPredictedPorts?: number;
}

export type HolePunchErrorCode = 'P2PSP_ERR_PUNCH_IMPOSSIBLE' | 'P2PSP_ERR_PUNCH_TIMEOUT';

export type HolePunchResult =
  | {
      readonly ok: true;
      /** The remote endpoint that answered: use it for the stream. */
      readonly remote: Endpoint;
      readonly elapsed: number;
      readonly hellosSent: number;
    }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: HolePunchErrorCode;
        readonly message: string;
        readonly hellosSent: number;
        readonly elapsed: number;
      };
    };

export type HolePunchOutput =
  | { readonly type: 'send-datagram'; readonly to: Endpoint; readonly bytes: Uint8Array }
  | { readonly type: 'punch-end'; readonly result: HolePunchResult };

export const MAX_PREDICTED_PORTS = 32;

/**
 * The endpoints to punch towards, in sending order: predicted ports first, in allocation
 * order (so two sequential NATs pair their k-th mappings), then the known endpoints.
 */
export function punchCandidates(
  remoteNat: NatReport,
  remoteEndpoints: readonly Endpoint[],
  options: { readonly maxPredictedPorts?: number; readonly remotePortHint?: number } = {},
): Endpoint[] {
  const known = remoteEndpoints.length > 0 ? [...remoteEndpoints] : [];
  if (known.length === 0 && remoteNat.mappedEndpoint) known.push(remoteNat.mappedEndpoint);
  const candidates: Endpoint[] = [];
  const seen = new Set<string>();
  const add = (endpoint: Endpoint) => {
    const key = formatEndpoint({
      address: canonicalIpAddress(endpoint.address) ?? endpoint.address,
      port: endpoint.port,
    });
    if (seen.has(key)) return;
    seen.add(key);
    candidates.push(endpoint);
  };
  const predictable =
    remoteNat.type === 'symmetric-sequential' || remoteNat.type === 'symmetric-preserving';
  const publicAddress = remoteNat.mappedEndpoint
    ? canonicalIpAddress(remoteNat.mappedEndpoint.address)
    : null;
  const publicKnown = known.filter(
    (endpoint) => canonicalIpAddress(endpoint.address) === publicAddress,
  );
  const base = publicKnown.at(-1) ?? remoteNat.mappedEndpoint ?? known.at(-1);
  if (predictable && base) {
    const count = Math.min(options.maxPredictedPorts ?? MAX_PREDICTED_PORTS, MAX_PREDICTED_PORTS);
    const step = Math.max(1, remoteNat.portStep);
    const from = options.remotePortHint ?? base.port;
    for (let k = 1; k <= count; k++) {
      const port = from + k * step;
      if (port > 0xffff) break;
      add({ address: base.address, port });
    }
  }
  for (const endpoint of known) add(endpoint);
  return candidates;
}

export class HolePunchCore {
  readonly #options: HolePunchOptions;
  readonly #candidates: Endpoint[];
  readonly #outputs: HolePunchOutput[] = [];
  readonly #nonce: number;
  readonly #roundInterval: number;
  readonly #timeout: number;
  #startedAt: Instant | undefined;
  #nextRound: Instant | undefined;
  #deadline: Instant = 0;
  #hellosSent = 0;
  #result: HolePunchResult | undefined;
  /** Datagrams seen that were hellos/acks for someone else, or not ours. */
  ignored = 0;

  constructor(options: HolePunchOptions) {
    this.#roundInterval = options.roundInterval ?? 100;
    this.#timeout = options.timeout ?? 5000;
    if (!(this.#roundInterval > 0)) {
      throw new NatError(
        'P2PSP_ERR_NAT_OPTION',
        `hole punching: roundInterval must be > 0 ms, got ${options.roundInterval}`,
      );
    }
    if (!(this.#timeout > 0))
      throw new NatError(
        'P2PSP_ERR_NAT_OPTION',
        `hole punching: timeout must be > 0 ms, got ${options.timeout}`,
      );
    this.#options = options;
    this.#nonce = Math.floor(options.random.next() * 0x100000000) >>> 0;
    this.#candidates = punchCandidates(options.remoteNat, options.remoteEndpoints, {
      ...(options.maxPredictedPorts !== undefined
        ? { maxPredictedPorts: options.maxPredictedPorts }
        : {}),
      ...(options.remotePortHint !== undefined ? { remotePortHint: options.remotePortHint } : {}),
    });
  }

  /** The endpoints this side sends hellos to (grows when a hello arrives from a new one). */
  get candidates(): readonly Endpoint[] {
    return this.#candidates;
  }

  get result(): HolePunchResult | undefined {
    return this.#result;
  }

  start(now: Instant): void {
    if (this.#startedAt !== undefined)
      throw new NatError('P2PSP_ERR_NAT_USAGE', 'hole punching: start() was already called');
    this.#startedAt = now;
    this.#deadline = now + this.#timeout;
    // Fail fast, before a single datagram, when the pair cannot work in theory.
    const feasibility = punchFeasibility(this.#options.localNat.type, this.#options.remoteNat.type);
    if (!feasibility.possible) {
      this.#finish(now, {
        code: 'P2PSP_ERR_PUNCH_IMPOSSIBLE',
        message: `hole punching cannot work: ${feasibility.reason}; use the external-peer path`,
      });
      return;
    }
    if (this.#candidates.length === 0) {
      this.#finish(now, {
        code: 'P2PSP_ERR_PUNCH_IMPOSSIBLE',
        message:
          'hole punching needs at least one remote endpoint (remoteEndpoints or remoteNat.mappedEndpoint)',
      });
      return;
    }
    this.#round(now);
  }

  /**
   * Offers a datagram from the shared socket. Returns true when it was a hello or hello-ack
   * of this punch (consumed); anything else is the caller's. Keeps answering hellos after
   * success, so the remote gets its ack too.
   */
  handleDatagram(bytes: Uint8Array, from: Endpoint, now: Instant): boolean {
    if (this.#startedAt === undefined) return false;
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) return false;
    const message = decoded.message;
    if (message.type !== 'hello' && message.type !== 'hello-ack') return false;
    const expected = this.#options.remoteMemberId ?? NO_MEMBER;
    if (expected !== NO_MEMBER && message.memberId !== expected) {
      this.ignored++;
      return false;
    }
    if (message.type === 'hello') {
      this.#outputs.push({
        type: 'send-datagram',
        to: from,
        bytes: encodeDatagram({
          type: 'hello-ack',
          memberId: this.#options.localMemberId,
          nonce: message.nonce,
        }),
      });
      // Its NAT opened a port towards us: aim our hellos there too (it may be unpredicted).
      if (!this.#candidates.some((candidate) => sameEndpointCanonical(candidate, from))) {
        this.#candidates.push(from);
      }
      if (!this.#result) this.#sendHello(from);
      return true;
    }
    if (message.nonce !== this.#nonce) {
      this.ignored++;
      return false;
    }
    if (!this.#result) {
      this.#result = {
        ok: true,
        remote: from,
        elapsed: now - this.#startedAt,
        hellosSent: this.#hellosSent,
      };
      this.#nextRound = undefined;
      this.#outputs.push({ type: 'punch-end', result: this.#result });
    }
    return true;
  }

  handleTimeout(now: Instant): void {
    if (this.#result || this.#nextRound === undefined) return;
    if (now >= this.#deadline) {
      this.#finish(now, {
        code: 'P2PSP_ERR_PUNCH_TIMEOUT',
        message: `no hello-ack from ${this.#candidates.length} candidate endpoints within ${this.#timeout} ms`,
      });
      return;
    }
    if (now >= this.#nextRound) this.#round(now);
  }

  pollTimeout(): Instant | undefined {
    if (this.#result || this.#nextRound === undefined) return undefined;
    return Math.min(this.#nextRound, this.#deadline);
  }

  pollOutput(): HolePunchOutput | undefined {
    return this.#outputs.shift();
  }

  #round(now: Instant): void {
    for (const candidate of this.#candidates) this.#sendHello(candidate);
    this.#nextRound = now + this.#roundInterval;
  }

  #sendHello(to: Endpoint): void {
    this.#hellosSent++;
    this.#outputs.push({
      type: 'send-datagram',
      to,
      bytes: encodeDatagram({
        type: 'hello',
        memberId: this.#options.localMemberId,
        nonce: this.#nonce,
      }),
    });
  }

  #finish(now: Instant, error: { code: HolePunchErrorCode; message: string }): void {
    this.#nextRound = undefined;
    this.#result = {
      ok: false,
      error: { ...error, hellosSent: this.#hellosSent, elapsed: now - (this.#startedAt ?? now) },
    };
    this.#outputs.push({ type: 'punch-end', result: this.#result });
  }
}

function sameEndpointCanonical(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && canonicalIpAddress(a.address) === canonicalIpAddress(b.address);
}
