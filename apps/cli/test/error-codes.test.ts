// The one table test of every p2psp error (STYLE.md, the undici row): each package's codes
// list, each error class, checked together so a code is never reused with another meaning.
import { CLUSTER_ERROR_CODES, ClusterError } from '@p2psp/cluster';
import { EndpointSyntaxError, HOST_ERROR_CODES } from '@p2psp/host';
import { BRIDGE_ERROR_CODES, BridgeError } from '@p2psp/icecast-bridge';
import { MEDIA_ERROR_CODES, MediaError } from '@p2psp/media';
import {
  type HolePunchErrorCode,
  NAT_ERROR_CODES,
  NatError,
  type StunDecodeErrorCode,
} from '@p2psp/nat';
import { PEER_ERROR_CODES, PeerConfigError, type PeerErrorCode } from '@p2psp/peer';
import { PeerRuntimeError } from '@p2psp/peer/node';
import { SOURCE_ERROR_CODES, SourceConfigError } from '@p2psp/source';
import { SourceRuntimeError } from '@p2psp/source/node';
import {
  P2pspError,
  type P2pspErrorCode,
  SHARED_ERROR_CODES,
  WIRE_ERROR_CODES,
  WireError,
} from '@p2psp/wire';
import { describe, expect, it } from 'vitest';

/** Each package's list of the codes it owns (the shared ones are owned by @p2psp/wire). */
const CODE_LISTS: Record<string, readonly P2pspErrorCode[]> = {
  '@p2psp/wire SHARED_ERROR_CODES': SHARED_ERROR_CODES,
  '@p2psp/wire WIRE_ERROR_CODES': WIRE_ERROR_CODES,
  '@p2psp/media MEDIA_ERROR_CODES': MEDIA_ERROR_CODES,
  '@p2psp/nat NAT_ERROR_CODES': NAT_ERROR_CODES,
  '@p2psp/cluster CLUSTER_ERROR_CODES': CLUSTER_ERROR_CODES,
  '@p2psp/host HOST_ERROR_CODES': HOST_ERROR_CODES,
  '@p2psp/source SOURCE_ERROR_CODES': SOURCE_ERROR_CODES,
  '@p2psp/peer PEER_ERROR_CODES': PEER_ERROR_CODES,
  '@p2psp/icecast-bridge BRIDGE_ERROR_CODES': BRIDGE_ERROR_CODES,
};

/**
 * Codes that are never thrown but returned in typed results or `stopped` outputs (network
 * input never throws, brief rule 3). A `Record` so the compiler keeps them exhaustive.
 */
const RESULT_CODES: Record<
  HolePunchErrorCode | StunDecodeErrorCode | Exclude<PeerErrorCode, 'P2PSP_ERR_CONFIG'>,
  string
> = {
  P2PSP_ERR_PUNCH_IMPOSSIBLE: '@p2psp/nat HolePunchResult',
  P2PSP_ERR_PUNCH_TIMEOUT: '@p2psp/nat HolePunchResult',
  P2PSP_ERR_STUN_NOT_STUN: '@p2psp/nat StunDecodeResult',
  P2PSP_ERR_STUN_TRUNCATED: '@p2psp/nat StunDecodeResult',
  P2PSP_ERR_STUN_BAD_LENGTH: '@p2psp/nat StunDecodeResult',
  P2PSP_ERR_STUN_BAD_ATTRIBUTE: '@p2psp/nat StunDecodeResult',
  P2PSP_ERR_STUN_BAD_FINGERPRINT: '@p2psp/nat StunDecodeResult',
  P2PSP_ERR_JOIN_TIMEOUT: '@p2psp/peer stopped output',
  P2PSP_ERR_JOIN_REFUSED: '@p2psp/peer stopped output',
  P2PSP_ERR_JOIN_FAILED: '@p2psp/peer stopped output (also PeerRuntimeError)',
  P2PSP_ERR_HELLO_TIMEOUT: '@p2psp/peer stopped output',
  P2PSP_ERR_SOURCE_SILENT: '@p2psp/peer stopped output',
  P2PSP_ERR_REMOVED: '@p2psp/peer RejoiningPeerCore stopped output',
};

/** Every class, its name, and one instance per code it throws. */
const CLASSES: {
  readonly name: string;
  readonly type: abstract new (...args: never[]) => P2pspError;
  readonly instances: readonly P2pspError[];
}[] = [
  {
    name: 'WireError',
    type: WireError,
    instances: WIRE_ERROR_CODES.map((code) => new WireError(code, 'chunk.payload')),
  },
  {
    name: 'MediaError',
    type: MediaError,
    instances: MEDIA_ERROR_CODES.map((code) => new MediaError(code)),
  },
  {
    name: 'NatError',
    type: NatError,
    instances: NAT_ERROR_CODES.map((code) => new NatError(code)),
  },
  {
    name: 'ClusterError',
    type: ClusterError,
    instances: (
      ['P2PSP_ERR_INVALID_OPTION', 'P2PSP_ERR_MEMBER_EXISTS', 'P2PSP_ERR_UNKNOWN_MEMBER'] as const
    ).map((code) => new ClusterError(code)),
  },
  {
    name: 'EndpointSyntaxError',
    type: EndpointSyntaxError,
    instances: [new EndpointSyntaxError()],
  },
  {
    name: 'SourceConfigError',
    type: SourceConfigError,
    instances: (['P2PSP_ERR_CHUNK_SIZE', 'P2PSP_ERR_CONFIG'] as const).map(
      (code) => new SourceConfigError(code, 'chunkSize'),
    ),
  },
  {
    name: 'SourceRuntimeError',
    type: SourceRuntimeError,
    instances: (
      [
        'P2PSP_ERR_INGEST_UNREACHABLE',
        'P2PSP_ERR_INGEST_REFUSED',
        'P2PSP_ERR_INGEST_STALLED',
        'P2PSP_ERR_INGEST_CLOSED',
        'P2PSP_ERR_INGEST_HTTP_STATUS',
        'P2PSP_ERR_INGEST_NOT_MEDIA',
        'P2PSP_ERR_INGEST_FILE',
        'P2PSP_ERR_INGEST_EMPTY',
        'P2PSP_ERR_BITRATE_NEEDED',
        'P2PSP_ERR_PORT_IN_USE',
        'P2PSP_ERR_BAD_OPTION',
      ] as const
    ).map((code) => new SourceRuntimeError(code)),
  },
  {
    name: 'PeerConfigError',
    type: PeerConfigError,
    instances: [new PeerConfigError('bufferSize')],
  },
  {
    name: 'PeerRuntimeError',
    type: PeerRuntimeError,
    instances: (
      [
        'P2PSP_ERR_SOURCE_UNREACHABLE',
        'P2PSP_ERR_JOIN_FAILED',
        'P2PSP_ERR_PORT_IN_USE',
        'P2PSP_ERR_BAD_OPTION',
      ] as const
    ).map((code) => new PeerRuntimeError(code)),
  },
  {
    name: 'BridgeError',
    type: BridgeError,
    instances: [...BRIDGE_ERROR_CODES, 'P2PSP_ERR_BAD_OPTION' as const].map(
      (code) => new BridgeError(code),
    ),
  },
];

const listed = Object.values(CODE_LISTS).flat();

describe('p2psp error codes', () => {
  it('are unique across packages: each code has one owner', () => {
    const owners = new Map<string, string[]>();
    for (const [list, codes] of Object.entries(CODE_LISTS)) {
      for (const code of codes) owners.set(code, [...(owners.get(code) ?? []), list]);
    }
    for (const code of Object.keys(RESULT_CODES)) {
      if (!listed.includes(code as P2pspErrorCode))
        owners.set(code, [...(owners.get(code) ?? []), 'result']);
    }
    const reused = [...owners].filter(([, lists]) => lists.length > 1);
    expect(reused).toEqual([]);
  });

  it.each([...listed, ...Object.keys(RESULT_CODES)])(
    '%s is P2PSP_ERR_ in upper snake case',
    (code) => {
      expect(code).toMatch(/^P2PSP_ERR_[A-Z0-9_]+$/);
    },
  );

  it('are each thrown by a class or returned as a result', () => {
    const thrown = new Set(CLASSES.flatMap((row) => row.instances.map((error) => error.code)));
    const unused = listed.filter((code) => !thrown.has(code) && !(code in RESULT_CODES));
    expect(unused).toEqual([]);
  });
});

describe.each(CLASSES)('$name', ({ name, type, instances }) => {
  it.each(instances.map((error) => [error.code, error] as const))(
    '%s: a P2pspError with its name, a listed code, a kind and a default message',
    (code, error) => {
      expect(error).toBeInstanceOf(P2pspError);
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(type);
      expect(error.name).toBe(name);
      expect(listed).toContain(code);
      expect(['usage', 'remote', 'environment']).toContain(error.kind);
      expect(error.message.length).toBeGreaterThan(10);
    },
  );
});
