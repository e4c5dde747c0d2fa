import type { SourceClusterOptions } from '@p2psp/cluster';
import type { MediaKind } from '@p2psp/media';
import type { Endpoint } from '@p2psp/wire';
import {
  chunkDigestBytes,
  MAX_CHUNK_PAYLOAD_FOR_MTU,
  MAX_DIGEST_CHUNKS,
  type Random,
  type Sha256,
  type Signer,
} from '@p2psp/wire';
import { SourceConfigError } from './errors.js';

/** Below this a chunk's header overhead dominates; P2PSP's default is 1,024 bytes. */
export const MIN_CHUNK_SIZE = 64;

/**
 * Splits the first ingest bytes into the stream header (what a late joiner's player needs
 * first: Ogg header pages, a WebM init segment) and the media that follows it.
 */
export interface StreamHeaderSplitter {
  /** Feed ingest bytes in order; returns the media bytes that follow the header (may be empty). */
  push(bytes: Uint8Array): Uint8Array;
  /** The complete header, or null while it is still arriving. Empty for MP3/ADTS. */
  readonly header: Uint8Array | null;
  /**
   * The ingest reconnected (`ingest-restart`): the next bytes pushed start a new stream, so
   * capture its header again (`header` is null until then). Without it the first header stays.
   */
  restart?(): void;
}

export interface SourceConfig {
  /** Seeded randomness (cores never call Math.random). */
  readonly random: Random;
  /**
   * The source's Ed25519 key pair (the root of trust, docs/security.md): its public key goes
   * to every joiner in the accept, and it signs the members' credentials. The Node runtime
   * makes one at start (`@p2psp/host`'s `generateSigner`). Default none: the source signs
   * nothing, and peers take as neighbours only the members it lists (a trusted LAN).
   */
  readonly signer?: Signer;
  /**
   * How long a member's credential stays valid, in stream time (converted to chunks when
   * signed): it bounds how long a removed member can still win neighbours that never
   * heard of its removal; members renew theirs when they need it. Default 60,000 ms.
   */
  readonly credentialLifetimeMillis?: number;
  /**
   * SHA-256 for signed chunks: with `signer`, every `digestChunks` chunks the source signs
   * a digest of their hashes, carried by the last of them (docs/security.md). The Node
   * runtime passes `@p2psp/host`'s `sha256`. Without both, chunks go unsigned.
   */
  readonly sha256?: Sha256;
  /**
   * Chunks per signed digest (1 to 23). Default 8: at 1,024-byte chunks the digest (134
   * bytes) costs 1.6% of the stream, and a chunk waits at most 7 chunk intervals for it.
   */
  readonly digestChunks?: number;
  /** Payload bytes per chunk. Default 1,024 (P2PSP); 64..MTU limit. */
  readonly chunkSize?: number;
  /** B: chunks a peer buffers, and how many chunk destinations the source remembers. Default 64. */
  readonly bufferSize?: number;
  /** MIME type announced to joiners. Default `application/octet-stream`. */
  readonly mediaType?: string;
  /**
   * How the stream header is found (rule 4: a late joiner's player needs it first).
   * `{ capture: kind }`: from the start of the ingest, by @p2psp/media's header capture for
   * that kind (Ogg header pages, WebM init segment, an ID3 tag to skip), or taken as the
   * ingest tags it (`ingest-data` `role`); `{ header }`: a fixed header, every ingest byte
   * is media; `{ splitter }`: a splitter of your own. Default: no header (raw bytes).
   */
  readonly header?:
    | { readonly capture: MediaKind }
    | { readonly header: Uint8Array }
    | { readonly splitter: StreamHeaderSplitter };
  /**
   * Members the source feeds (monitors and members). Beyond, joiners become external peers
   * (seed 000) up to `cluster.admission.maxExternal` and as many as the fed members feed at
   * `cluster.admission.maxMemberUpload` x the stream, then are refused `cluster-full`.
   * Default 256.
   */
  readonly maxMembers?: number;
  /**
   * Credential a joiner asking for the monitor role must present (else it is refused
   * `bad-credential`). Whatever it is, while the cluster has no monitor the next ordinary
   * joiner becomes one: by default the first joiner is the monitor. Default null.
   */
  readonly monitorCredential?: Uint8Array | null;
  /**
   * Members (fed, external, or accepted and not yet helloed) from one IP address; beyond,
   * joiners are refused `not-accepting`. Bounds sybils per host; honest viewers share an
   * address behind a NAT. Default 64 (tests run many peers on 127.0.0.1); on the open
   * internet, a handful (docs/security.md).
   */
  readonly maxMembersPerAddress?: number;
  /** Joins in progress (TCP open, no hello yet) from one IP address; beyond, closed. Default 16. */
  readonly maxJoinsPerAddress?: number;
  /**
   * Joins the source admits per second, all addresses together, with a burst of 5 s worth;
   * beyond, refused `not-accepting`. Default 100.
   */
  readonly joinsPerSecond?: number;
  /** A join (TCP open to UDP hello) that takes longer is abandoned and closed. Default 5,000 ms. */
  readonly joinTimeoutMillis?: number;
  /** Largest TCP frame accepted from a joiner; larger closes the connection. Default 4,096. */
  readonly maxFrameBytes?: number;
  /** Chunk interval announced before the ingest rate is measured. Default 20 ms. */
  readonly initialChunkIntervalMillis?: number;
  /** Window of the ingest-rate moving average. Default 5,000 ms. */
  readonly rateWindowMillis?: number;
  /**
   * A member sent nothing (no chunk, no hello-ack) for this long gets a hello-ack as a sign
   * of life, so peers can tell a stalled ingest from a dead source. 0 turns it off.
   * Default 5,000 ms.
   */
  readonly keepaliveMillis?: number;
  /**
   * Cluster policies from @p2psp/cluster: complaints and expulsions (rule 8),
   * ACS scheduling, LRS, liveness of silent members, admission. Defaults: plain DBS round
   * robin, complaints counted with P2PSP's threshold, LRS on (`lostChunkRecovery: false`
   * turns it off), no liveness timeout.
   * `maxMembers` and `monitorCredential` above fill `admission` unless it sets them.
   */
  readonly cluster?: Omit<SourceClusterOptions, 'bufferSize' | 'feedOnJoin'>;
  /**
   * Trees of clusters (docs/trees.md). `children`: child sources (where they take joins) a
   * full source redirects ordinary joiners to; more are learnt from their `child-report`s.
   * `parent`: the source whose cluster feeds this one (through a liberated peer), told this
   * source's load every second with `joinPort`, the TCP port this source takes joins on.
   * Default: neither.
   */
  readonly tree?: {
    readonly children?: readonly Endpoint[];
    readonly parent?: { readonly endpoint: Endpoint; readonly joinPort: number } | null;
  };
}

export interface ResolvedSourceConfig {
  readonly random: Random;
  readonly signer: Signer | null;
  readonly credentialLifetimeMillis: number;
  readonly sha256: Sha256 | null;
  readonly digestChunks: number;
  readonly chunkSize: number;
  readonly bufferSize: number;
  readonly mediaType: string;
  readonly header: NonNullable<SourceConfig['header']> | null;
  readonly maxMembers: number;
  readonly monitorCredential: Uint8Array | null;
  readonly maxMembersPerAddress: number;
  readonly maxJoinsPerAddress: number;
  readonly joinsPerSecond: number;
  readonly joinTimeoutMillis: number;
  readonly maxFrameBytes: number;
  readonly initialChunkIntervalMillis: number;
  readonly rateWindowMillis: number;
  readonly keepaliveMillis: number;
  readonly cluster: SourceClusterOptions;
  readonly tree: {
    readonly children: readonly Endpoint[];
    readonly parent: { readonly endpoint: Endpoint; readonly joinPort: number } | null;
  };
}

export const SOURCE_DEFAULTS = {
  chunkSize: 1024,
  bufferSize: 64,
  mediaType: 'application/octet-stream',
  maxMembers: 256,
  maxMembersPerAddress: 64,
  maxJoinsPerAddress: 16,
  joinsPerSecond: 100,
  joinTimeoutMillis: 5000,
  credentialLifetimeMillis: 60_000,
  maxFrameBytes: 4096,
  initialChunkIntervalMillis: 20,
  rateWindowMillis: 5000,
  keepaliveMillis: 5000,
  digestChunks: 8,
} as const;

/** The integer options whose refusal names their default as the fix. */
type IntegerOptionWithDefault =
  | 'maxMembers'
  | 'maxMembersPerAddress'
  | 'maxJoinsPerAddress'
  | 'joinsPerSecond'
  | 'joinTimeoutMillis'
  | 'credentialLifetimeMillis'
  | 'maxFrameBytes'
  | 'digestChunks';

function integerIn(option: string, value: number, min: number, max: number, fix: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SourceConfigError(
      'P2PSP_ERR_CONFIG',
      option,
      `${option} must be an integer from ${min} to ${max}, got ${value}; ${fix}`,
    );
  }
  return value;
}

/** Checks every option when the core is built, naming the option and the fix (undici style). */
export function resolveSourceConfig(config: SourceConfig): ResolvedSourceConfig {
  /** An integer option, its default when unset; the fix a refusal names is the default. */
  const withDefault = (option: IntegerOptionWithDefault, min: number, max: number) =>
    integerIn(
      option,
      config[option] ?? SOURCE_DEFAULTS[option],
      min,
      max,
      `use the default ${SOURCE_DEFAULTS[option]}`,
    );
  const chunkSize = config.chunkSize ?? SOURCE_DEFAULTS.chunkSize;
  if (
    !Number.isInteger(chunkSize) ||
    chunkSize < MIN_CHUNK_SIZE ||
    chunkSize > MAX_CHUNK_PAYLOAD_FOR_MTU
  ) {
    throw new SourceConfigError(
      'P2PSP_ERR_CHUNK_SIZE',
      'chunkSize',
      `chunkSize ${chunkSize} is out of range: a chunk must carry ${MIN_CHUNK_SIZE} to ` +
        `${MAX_CHUNK_PAYLOAD_FOR_MTU} payload bytes so that it fits one 1,500-byte MTU ` +
        `datagram over IPv4 without IP fragmentation; use the default ${SOURCE_DEFAULTS.chunkSize}`,
    );
  }
  if (typeof config.random?.next !== 'function') {
    throw new SourceConfigError(
      'P2PSP_ERR_CONFIG',
      'random',
      'random is required: pass createRandom(seed) from @p2psp/wire',
    );
  }
  const monitorCredential = config.monitorCredential ?? null;
  if (monitorCredential !== null && monitorCredential.length === 0) {
    throw new SourceConfigError(
      'P2PSP_ERR_CONFIG',
      'monitorCredential',
      'monitorCredential is empty: pass null to make the first joiner the monitor, or a non-empty secret',
    );
  }
  const bufferSize = integerIn(
    'bufferSize',
    config.bufferSize ?? SOURCE_DEFAULTS.bufferSize,
    2,
    65536,
    'B must be at least the cluster size (rule 5); use the default 64',
  );
  const maxMembers = withDefault('maxMembers', 1, 1_000_000);
  const digestChunks = withDefault('digestChunks', 1, MAX_DIGEST_CHUNKS);
  const signing = config.signer !== undefined && config.sha256 !== undefined;
  if (signing && chunkSize + chunkDigestBytes(digestChunks) > MAX_CHUNK_PAYLOAD_FOR_MTU) {
    throw new SourceConfigError(
      'P2PSP_ERR_CHUNK_SIZE',
      'chunkSize',
      `chunkSize ${chunkSize} and its signed digest (${chunkDigestBytes(digestChunks)} bytes ` +
        `for digestChunks ${digestChunks}) exceed the ${MAX_CHUNK_PAYLOAD_FOR_MTU} bytes of ` +
        `one 1,500-byte MTU datagram; use the default ${SOURCE_DEFAULTS.chunkSize}`,
    );
  }
  const cluster = config.cluster ?? {};
  return {
    random: config.random,
    signer: config.signer ?? null,
    credentialLifetimeMillis: withDefault('credentialLifetimeMillis', 1000, 86_400_000),
    sha256: config.sha256 ?? null,
    digestChunks,
    chunkSize,
    bufferSize,
    mediaType: config.mediaType ?? SOURCE_DEFAULTS.mediaType,
    header: config.header ?? null,
    maxMembers,
    monitorCredential,
    maxMembersPerAddress: withDefault('maxMembersPerAddress', 1, 1_000_000),
    maxJoinsPerAddress: withDefault('maxJoinsPerAddress', 1, 1_000_000),
    joinsPerSecond: withDefault('joinsPerSecond', 1, 1_000_000),
    joinTimeoutMillis: withDefault('joinTimeoutMillis', 1, 3_600_000),
    maxFrameBytes: withDefault('maxFrameBytes', 256, 16 * 1024 * 1024),
    initialChunkIntervalMillis: positive(
      'initialChunkIntervalMillis',
      config.initialChunkIntervalMillis ?? SOURCE_DEFAULTS.initialChunkIntervalMillis,
    ),
    rateWindowMillis: positive(
      'rateWindowMillis',
      config.rateWindowMillis ?? SOURCE_DEFAULTS.rateWindowMillis,
    ),
    keepaliveMillis: integerIn(
      'keepaliveMillis',
      config.keepaliveMillis ?? SOURCE_DEFAULTS.keepaliveMillis,
      0,
      3_600_000,
      'use the default 5000, or 0 to turn keepalives off',
    ),
    cluster: {
      ...cluster,
      // LRS on unless turned off: free while monitors lose nothing.
      lostChunkRecovery: cluster.lostChunkRecovery ?? true,
      bufferSize,
      // Rule 4: a member is fed once its UDP hello arrives, not when the TCP join is admitted.
      feedOnJoin: false,
      admission: { maxMembers, monitorCredential, ...cluster.admission },
    },
    tree: resolveTree(config.tree),
  };
}

function resolveTree(tree: SourceConfig['tree']): ResolvedSourceConfig['tree'] {
  const children = tree?.children ?? [];
  for (const [index, child] of children.entries()) {
    integerIn(`tree.children[${index}].port`, child.port, 1, 65535, 'give HOST:PORT of its joins');
  }
  const parent = tree?.parent ?? null;
  if (parent !== null) {
    integerIn('tree.parent.endpoint.port', parent.endpoint.port, 1, 65535, 'give HOST:PORT');
    integerIn('tree.parent.joinPort', parent.joinPort, 1, 65535, 'the port this source listens on');
  }
  return { children, parent };
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new SourceConfigError(
      'P2PSP_ERR_CONFIG',
      option,
      `${option} must be a positive number of milliseconds, got ${value}`,
    );
  }
  return value;
}
