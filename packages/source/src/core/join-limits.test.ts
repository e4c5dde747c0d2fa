import { drainOutputs } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { JOIN_BURST_SECONDS } from './join-limits.js';
import { createSource, framesWritten, join, requestJoin } from './source-core.test-helpers.js';

// Sybils and join floods at the source: per-address limits and a join rate.

describe('SourceCore join limits', () => {
  it('refuses a join beyond maxMembersPerAddress, saying why; other addresses still join', () => {
    const core = createSource({ maxMembersPerAddress: 2 });
    join(core, 1, { address: '10.0.0.5', port: 5001 }, 0);
    join(core, 2, { address: '10.0.0.5', port: 5002 }, 0);
    requestJoin(core, 3, { address: '10.0.0.5', port: 40003 }, 0);
    const [refusal] = framesWritten(drainOutputs(core), 3);
    expect(refusal).toMatchObject({
      type: 'join-refused',
      reason: 'not-accepting',
      message: 'too many members from 10.0.0.5: 2 (the source takes at most 2 per address)',
    });
    // Counted at the TCP address before the hello too (IPv4-mapped on a dual-stack socket).
    requestJoin(core, 4, { address: '::ffff:10.0.0.5', port: 40004 }, 0);
    expect(framesWritten(drainOutputs(core), 4)[0]).toMatchObject({ type: 'join-refused' });
    expect(join(core, 5, { address: '10.0.0.6', port: 5001 }, 0).accept.type).toBe('join-accept');
    expect(core.stats()).toMatchObject({ joinsRefused: 2, joinsAccepted: 3 });
  });

  it('closes a connection beyond maxJoinsPerAddress joins in progress', () => {
    const core = createSource({ maxJoinsPerAddress: 2 });
    for (const connection of [1, 2, 3]) {
      core.handle(
        { type: 'connection-open', connection, remote: { address: '10.0.0.5', port: connection } },
        0,
      );
    }
    const outputs = drainOutputs(core);
    expect(outputs.filter((output) => output.type === 'close')).toEqual([
      {
        type: 'close',
        connection: 3,
        reason: '2 joins in progress from 10.0.0.5 (maxJoinsPerAddress 2)',
      },
    ]);
    expect(core.stats().connectionsRejected).toBe(1);
  });

  it('refuses joins beyond the join rate (a burst of 5 s of joins), then admits again', () => {
    const core = createSource({ joinsPerSecond: 2 });
    const burst = 2 * JOIN_BURST_SECONDS;
    const verdicts: string[] = [];
    for (let connection = 1; connection <= burst + 1; connection++) {
      requestJoin(core, connection, { address: `10.0.1.${connection}`, port: 40000 }, 0);
      verdicts.push(framesWritten(drainOutputs(core), connection)[0]?.type ?? 'none');
    }
    expect(verdicts.filter((type) => type === 'join-accept')).toHaveLength(burst);
    expect(verdicts.at(-1)).toBe('join-refused');
    // Half a second later one token is back (2 per second).
    requestJoin(core, 100, { address: '10.0.2.1', port: 40000 }, 500);
    expect(framesWritten(drainOutputs(core), 100)[0]?.type).toBe('join-accept');
  });
});
