import { drainOutputs, type Endpoint, encodeDatagram } from '@p2psp/wire';
import { describe, expect, it } from 'vitest';
import { CHILD_READY_CHUNKS, CHILD_REPORT_MILLIS, CHILD_TIMEOUT_MILLIS } from './children.js';
import {
  createSource,
  datagramsSent,
  framesWritten,
  join,
  requestJoin,
} from './source-core.test-helpers.js';

// Trees of clusters: a full source redirects ordinary joiners to the child source with most
// room; children are configured, or learnt from their reports; a silent one is dropped.

const at = (host: number, port = 5000): Endpoint => ({ address: `10.0.0.${host}`, port });

const report = (joinPort: number, members: number, capacity: number) =>
  encodeDatagram({ type: 'child-report', joinPort, members, capacity });

/** The answer to a join from 10.0.0.`host`: `accept`, or the refusal's redirect. */
function answer(core: ReturnType<typeof createSource>, connection: number, host: number, now = 0) {
  requestJoin(core, connection, at(host, 40000 + connection), now);
  const frame = framesWritten(drainOutputs(core), connection)[0];
  if (frame?.type === 'join-accept') return 'accept';
  if (frame?.type === 'join-refused' && frame.reason === 'redirect' && frame.redirect !== null) {
    return `${frame.redirect.address}:${frame.redirect.port}`;
  }
  return JSON.stringify(frame);
}

describe('trees of clusters: redirects', () => {
  it('a full source redirects ordinary joiners to its configured child', () => {
    const core = createSource({ maxMembers: 2, tree: { children: [at(50, 4552)] } });
    join(core, 1, at(1), 0);
    join(core, 2, at(2), 0);
    expect(answer(core, 3, 3)).toBe('10.0.0.50:4552');
    expect(core.stats()).toMatchObject({ members: 2, joinsRedirected: 1 });
    expect(core.children()).toEqual([
      { endpoint: '10.0.0.50:4552', configured: true, members: 0, capacity: null, redirected: 1 },
    ]);
  });

  it('a configured child that reported and fell silent is skipped until it reports again', () => {
    const child = at(50, 4552);
    const core = createSource({ maxMembers: 1, tree: { children: [child] } });
    join(core, 1, at(1), 0);
    core.handle({ type: 'datagram', from: child, bytes: report(4552, 0, 100) }, 0);
    expect(answer(core, 2, 2, 100)).toBe('10.0.0.50:4552');
    const silent = CHILD_TIMEOUT_MILLIS + 1;
    expect(answer(core, 3, 3, silent)).toBe('accept');
    core.handle({ type: 'datagram', from: child, bytes: report(4552, 1, 100) }, silent);
    expect(answer(core, 4, 4, silent)).toBe('10.0.0.50:4552');
  });

  it('children are learnt from liberated hosts only, and joiners go where there is most room', () => {
    const core = createSource({ maxMembers: 1 });
    // A report from a host with no liberated member is dropped.
    core.handle({ type: 'datagram', from: at(9, 4552), bytes: report(4552, 0, 2) }, 0);
    expect(core.stats().datagramsDropped['non-member']).toBe(1);
    join(core, 1, at(9), 0, { role: 'liberated' });
    join(core, 2, at(8), 0, { role: 'liberated' });
    join(core, 3, at(1), 0);
    core.handle({ type: 'datagram', from: at(9, 4552), bytes: report(4552, 1, 2) }, 10);
    core.handle({ type: 'datagram', from: at(8, 4552), bytes: report(4552, 0, 2) }, 10);
    const added = drainOutputs(core).filter(
      (output) => output.type === 'event' && output.event.name === 'child-add',
    );
    expect(added).toHaveLength(2);
    // Rooms 1 and 2: the emptier first, then one each, then the cluster takes it itself (an
    // external: the liberated members take no place).
    const answers = [4, 5, 6, 7].map((host) => answer(core, host, host, 20));
    expect(answers.slice(0, 3)).toEqual(['10.0.0.8:4552', '10.0.0.9:4552', '10.0.0.8:4552']);
    expect(answers[3]).toBe('accept');
    expect(core.stats().joinsRedirected).toBe(3);
  });

  it('a learnt child that stops reporting gets no more joiners', () => {
    const core = createSource({ maxMembers: 1 });
    join(core, 1, at(9), 0, { role: 'liberated' });
    join(core, 4, at(4), 0);
    core.handle({ type: 'datagram', from: at(9, 4552), bytes: report(4552, 0, 100) }, 0);
    expect(answer(core, 2, 2, 100)).toBe('10.0.0.9:4552');
    core.handleTimeout(CHILD_TIMEOUT_MILLIS + CHILD_REPORT_MILLIS);
    const lost = drainOutputs(core).filter(
      (output) => output.type === 'event' && output.event.name === 'child-lose',
    );
    expect(lost).toHaveLength(1);
    expect(core.children()).toEqual([]);
    // Admitted as before (an external of the full cluster).
    expect(answer(core, 3, 3, CHILD_TIMEOUT_MILLIS + CHILD_REPORT_MILLIS)).toBe('accept');
  });

  it('a child source reports its subtree to its parent every second', () => {
    const parent = at(1, 4552);
    const core = createSource({
      maxMembers: 10,
      tree: { parent: { endpoint: parent, joinPort: 4600 } },
    });
    join(core, 1, at(2), 0);
    drainOutputs(core);
    core.handleTimeout(0);
    // No room before its stream flows: joiners would get a guessed chunk interval.
    for (let index = 0; index < CHILD_READY_CHUNKS; index++) {
      core.handle({ type: 'ingest-data', bytes: new Uint8Array(64) }, 10 + index);
    }
    core.handleTimeout(CHILD_REPORT_MILLIS);
    const reports = datagramsSent(drainOutputs(core)).filter(
      ({ message }) => message.type === 'child-report',
    );
    expect(reports.map(({ to }) => to)).toEqual([parent, parent]);
    expect(reports.map(({ message }) => message)).toEqual([
      { type: 'child-report', joinPort: 4600, members: 1, capacity: 0 },
      { type: 'child-report', joinPort: 4600, members: 1, capacity: 10 },
    ]);
  });
});
