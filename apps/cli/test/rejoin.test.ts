import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses, type RunningChild } from './child-processes.js';
import { getJson, mp3FrameLength, pollUntil, sleep, until } from './helpers.js';
import {
  DEMO_SAMPLE,
  logsNamed,
  startP2pspPeer,
  startP2pspSource,
  waitForLog,
} from './real-servers.js';

// Membership that heals, with real processes of the built CLI on loopback: a peer paused
// past the source's member timeout, and a source killed and started again on its address.
// Each time the peers join again by themselves while their players stay connected, and the
// players get the stream again. Every process is killed by PID in afterAll.
const processes = new ChildProcesses();
afterAll(() => processes.killAll());

/** An HTTP player that records when each piece of the stream arrived. */
function timedPlayer(url: string) {
  const pieces: { at: number; bytes: Buffer }[] = [];
  const state = { ended: false, error: '' };
  const client = request(url, (response) => {
    response.on('data', (bytes: Buffer) => pieces.push({ at: performance.now(), bytes }));
    response.on('end', () => {
      state.ended = true;
    });
  });
  client.on('error', (error) => {
    state.error = error.message;
    state.ended = true;
  });
  client.end();
  const bytesAfter = (time: number) =>
    pieces.reduce((sum, piece) => sum + (piece.at > time ? piece.bytes.byteLength : 0), 0);
  return {
    state,
    bytesAfter,
    get receivedBytes() {
      return bytesAfter(-1);
    },
    /** When the first byte after `time` arrived, or null. */
    firstAfter: (time: number) => pieces.find((piece) => piece.at > time)?.at ?? null,
    /** The longest silence after `time` (from `time` itself), and when the stream came back. */
    longestGapAfter: (time: number) => {
      let gap = { millis: 0, endsAt: time };
      let last = time;
      for (const piece of pieces) {
        if (piece.at <= time) continue;
        if (piece.at - last > gap.millis) gap = { millis: piece.at - last, endsAt: piece.at };
        last = piece.at;
      }
      return gap;
    },
    bytes: () => Buffer.concat(pieces.map((piece) => piece.bytes)),
    /** The bytes that arrived from `time` on. */
    bytesFrom: (time: number) =>
      Buffer.concat(pieces.filter((piece) => piece.at >= time).map((piece) => piece.bytes)),
    close: () => client.destroy(),
  };
}

/** Bytes of MPEG-1 Layer III data that are not inside a frame (resynchronising after gaps). */
function junkBytes(bytes: Uint8Array): number {
  let junk = 0;
  for (let offset = 0; offset + 4 <= bytes.byteLength; ) {
    const length = mp3FrameLength(bytes, offset);
    if (
      length > 0 &&
      (offset + length >= bytes.byteLength || mp3FrameLength(bytes, offset + length) > 0)
    ) {
      offset += length;
    } else {
      junk += 1;
      offset += 1;
    }
  }
  return junk;
}

/**
 * A peer's `/status`. A connection the HTTP agent kept from before a pause may have been
 * reset by the peer meanwhile: one more try on a fresh connection.
 */
const statusOf = (url: string) => {
  const statusUrl = url.replace(/\/stream$/, '/status');
  return getJson(statusUrl).catch(() => getJson(statusUrl));
};

interface RejoinStatus {
  state: string;
  memberId: number;
  rejoin: { rejoins: number; attempts: number; lastCause: string | null };
}

/** `p2psp source` on 127.0.0.1:PORT (0: a free one), playing the demo MP3 in a loop. */
function sourceOn(port: string): RunningChild {
  return processes.cli(
    ...['source', '--input', DEMO_SAMPLE, '--loop'],
    ...['--address', '127.0.0.1', '--port', port],
  );
}

describe('peers that join again by themselves (processes of the built CLI)', () => {
  it('peers paused past the member timeout are removed, rejoin, and their players play again', {
    timeout: 120_000,
  }, async () => {
    const source = await startP2pspSource(processes, '--input', DEMO_SAMPLE, '--loop');
    // Paused 20 s (past the peer's own 15 s of source silence too), and 12 s (less).
    const pauses = [20_000, 12_000];
    const paused = [
      await startP2pspPeer(processes, source.port),
      await startP2pspPeer(processes, source.port),
    ];
    await startP2pspPeer(processes, source.port);
    const players = paused.map((peer) => timedPlayer(peer.url));
    await until(
      () => players.every((player) => player.receivedBytes > 16_000),
      20_000,
      'the players to play',
    );
    const before = (await Promise.all(
      paused.map((peer) => statusOf(peer.url)),
    )) as unknown as RejoinStatus[];
    for (const status of before) expect(status.state).toBe('streaming');

    // No datagram read meanwhile: past the source's member timeout (10 s).
    const stoppedAt = performance.now();
    for (const peer of paused) peer.running.child.kill('SIGSTOP');
    const resumedAt = [0, 0];
    await Promise.all(
      paused.map(async (peer, index) => {
        await sleep(pauses[index]! - (performance.now() - stoppedAt));
        resumedAt[index] = performance.now();
        peer.running.child.kill('SIGCONT');
      }),
    );
    const leaves = logsNamed(source.running, 'peer-leave');
    for (const status of before) {
      expect(leaves).toContainEqual(
        expect.objectContaining({ memberId: status.memberId, reason: 'timeout' }),
      );
    }

    const lines: string[] = [];
    for (const [index, peer] of paused.entries()) {
      const after = (await pollUntil(
        () => statusOf(peer.url),
        (status) => (status as unknown as RejoinStatus).rejoin.rejoins >= 1,
        20_000,
      )) as unknown as RejoinStatus;
      expect(after.state).toBe('streaming');
      expect(after.rejoin.rejoins).toBe(1);
      // A new membership: a new member id, not the one the source removed.
      expect(after.memberId).not.toBe(before[index]!.memberId);
      // Paused 12 s, it hears it was removed (the source's goodbye, or its answer to the
      // peer's next report) before its 15 s of silence; paused 20 s, either comes first.
      expect(after.rejoin.lastCause).toMatch(
        index === 1
          ? /^P2PSP_ERR_REMOVED: removed by the source \(timeout\)$/
          : /^P2PSP_ERR_(REMOVED|SOURCE_SILENT): /,
      );

      // The player, connected all along, plays again: 3 s of the stream (128 kbit/s) more.
      const player = players[index]!;
      const resumed = resumedAt[index]!;
      await until(() => player.bytesAfter(resumed) > 48_000, 20_000, 'the player to play again');
      expect(player.state.ended).toBe(false);
      // On SIGCONT the peer plays out what it buffered, then the gap, then the new membership.
      const gap = player.longestGapAfter(resumed);
      // The new membership's stream starts at a frame (players resync at the gap): the
      // bytes from there on are whole MP3 frames, but for a lost chunk or two.
      const rejoined = player.bytesFrom(gap.endsAt);
      const rejoinedJunk = junkBytes(rejoined) / rejoined.byteLength;
      expect(rejoinedJunk).toBeLessThan(0.02);
      // Over the whole run, the old membership's catch-up after the pause counts too (chunks
      // it found lost at their play time): a partial frame each at most, a loose bound.
      const bytes = player.bytes();
      const junk = junkBytes(bytes) / bytes.byteLength;
      expect(junk).toBeLessThan(0.1);
      const [done] = logsNamed(peer.running, 'rejoin-done');
      lines.push(
        `SIGSTOP ${pauses[index]! / 1000} s: member ${before[index]!.memberId} removed (timeout); on SIGCONT the peer saw ${after.rejoin.lastCause?.split(':')[0]}, rejoined as member ${after.memberId} (${String(done?.gapMillis)} ms after its old membership ended); its player heard a ${Math.round(gap.millis)} ms gap, the stream back ${Math.round(gap.endsAt - resumed)} ms after SIGCONT (outside MP3 frames: ${(junk * 100).toFixed(1)}% of its bytes, ${(rejoinedJunk * 100).toFixed(1)}% after the gap)`,
      );
      player.close();
    }
    console.log(lines.join('\n'));
  });

  it('every player plays again when the source is killed and restarted on its address', {
    timeout: 150_000,
  }, async () => {
    const first = sourceOn('0');
    const start = await waitForLog(first, 'source-start', 20_000, 'the source to start');
    const port = String(start.endpoint).split(':').at(-1)!;
    const peers = await Promise.all([0, 1, 2].map(() => startP2pspPeer(processes, port)));
    const players = peers.map((peer) => timedPlayer(peer.url));
    await until(
      () => players.every((player) => player.receivedBytes > 16_000),
      20_000,
      'every player to play',
    );
    const memberIds = await Promise.all(
      peers.map(async (peer) => ((await statusOf(peer.url)) as unknown as RejoinStatus).memberId),
    );

    // No goodbye; the players drain what was buffered, then hear nothing.
    ChildProcesses.kill(first.child);
    await first.exited;
    await sleep(3000);
    const restartedAt = performance.now();
    const second = sourceOn(port);
    await waitForLog(second, 'source-start', 20_000, 'the source to start again');
    const listeningAt = performance.now();

    await until(
      () => players.every((player) => player.bytesAfter(restartedAt) > 48_000),
      40_000,
      'every player to play again',
    );
    const statuses = (await Promise.all(
      peers.map((peer) => statusOf(peer.url)),
    )) as unknown as RejoinStatus[];
    for (const [index, status] of statuses.entries()) {
      expect(status.state).toBe('streaming');
      expect(status.rejoin.rejoins).toBe(1);
      // Told by the new source, which answered their next report (long before 15 s of silence).
      expect(status.rejoin.lastCause).toBe('P2PSP_ERR_REMOVED: removed by the source (timeout)');
      expect(players[index]!.state.ended).toBe(false);
      expect(peers[index]!.running.child.exitCode).toBeNull();
    }
    // The restarted source knows all three, under its own new ids.
    expect(logsNamed(second, 'peer-join')).toHaveLength(3);
    const gaps = players.map((player) => Math.round(player.firstAfter(restartedAt)! - restartedAt));
    const fromListening = players.map((player) =>
      Math.round(player.firstAfter(restartedAt)! - listeningAt),
    );
    for (const player of players) {
      const bytes = player.bytes();
      expect(junkBytes(bytes) / bytes.byteLength).toBeLessThan(0.05);
      player.close();
    }
    console.log(
      `source SIGKILL, restarted 3 s later on port ${port}: members ${memberIds.join(', ')} rejoined; first byte at the players ${gaps.join(', ')} ms after the restart (spawn), ${fromListening.join(', ')} ms after the new source listened`,
    );
  });
});
