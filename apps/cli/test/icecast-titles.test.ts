import { mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IcyMetadataStripper } from '@p2psp/media';
import { ensureSystemTools, FFMPEG, type IcecastServer, LIQUIDSOAP } from '@p2psp/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getJson, pollUntil, until } from './helpers.js';
import {
  decode,
  liquidsoapPushScript,
  logsNamed,
  PUSH_PASSWORD,
  startP2pspPeer,
  startPushSource,
  useIcecast,
  waitForLog,
  waitForMount,
} from './real-servers.js';

// Stream titles (ICY) through the cluster, with real software: Liquidsoap pushes MP3 with a
// new title every 2 s into `p2psp source --listen-source`; a player that sends
// `Icy-MetaData: 1` to a peer reads them in order from Icecast-framed blocks, ffprobe reads
// the title and the icy headers, and the status pages in Icecast's shape count the players.
// Then `p2psp bridge` takes a peer's titles on to a real icecast2, whose own status page
// shows them.

let missingLiquidsoap: string[] = [];
beforeAll(() => {
  // Installs the packages when missing (as root); throws in CI if still missing.
  missingLiquidsoap = ensureSystemTools([FFMPEG, LIQUIDSOAP]);
}, 15 * 60_000);

const { processes, startIcecast } = useIcecast();
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A player that asks for ICY metadata: its headers, and each title as it comes. */
function icyPlayer(url: string) {
  const titles: string[] = [];
  const state = { headers: {} as IncomingMessage['headers'], bytes: 0 };
  const request = get(url, { headers: { 'Icy-MetaData': '1' } }, (response) => {
    state.headers = response.headers;
    const stripper = new IcyMetadataStripper(Number(response.headers['icy-metaint']));
    response.on('data', (bytes: Buffer) => {
      const { media, titles: found } = stripper.push(bytes);
      state.bytes += media.byteLength;
      titles.push(...found);
    });
  });
  request.on('error', () => {});
  return { titles, state, close: () => request.destroy() };
}

/** ffprobe's view of a stream's tags (it sends Icy-MetaData: 1 and reads the first block). */
async function probeTags(url: string): Promise<Record<string, string>> {
  const probe = processes.spawn('ffprobe', [
    ...['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'format_tags'],
    ...['-of', 'json', url],
  ]);
  await probe.exited;
  const parsed = JSON.parse(probe.stdout() || '{}') as { format?: { tags?: object } };
  return (parsed.format?.tags ?? {}) as Record<string, string>;
}

/** The single mount of a `/status-json.xsl` (Icecast lists one as an object). */
async function mountStatus(url: string, listenUrl?: string): Promise<Record<string, unknown>> {
  const { icestats } = (await getJson(url)) as { icestats: { source?: unknown } };
  const sources = [icestats.source ?? []].flat() as Record<string, unknown>[];
  return sources.find((source) => listenUrl === undefined || source.listenurl === listenUrl) ?? {};
}

describe('stream titles (ICY) through the cluster and out to Icecast', () => {
  it("Liquidsoap's changing titles reach the players of every peer in order, with the icy headers", {
    timeout: 150_000,
  }, async (context) => {
    if (missingLiquidsoap.length > 0) context.skip(`missing ${missingLiquidsoap.join(', ')}`);
    const source = await startPushSource(
      processes,
      'radio.mp3',
      ...['--stream-description', 'Tests on air'],
    );
    const folder = mkdtempSync(join(tmpdir(), 'p2psp-titles-'));
    folders.push(folder);
    const script = liquidsoapPushScript(folder, {
      port: source.port,
      mount: 'radio.mp3',
      name: 'Liquidsoap titles',
      // A new title every 2 s, as a playlist would announce songs.
      lines: [
        's = insert_metadata(sine(440.))',
        'n = ref(0)',
        'def next() =',
        '  n := !n + 1',
        '  s.insert_metadata([("artist", "Tester"), ("title", "Song #{!n}")])',
        'end',
        'thread.run(every=2., next)',
      ],
      body: 's',
    });
    processes.spawn('liquidsoap', [script]);
    const clusterPort = await source.started();
    const peers = [
      await startP2pspPeer(processes, clusterPort),
      await startP2pspPeer(processes, clusterPort),
    ];
    const players = peers.map((peer) => icyPlayer(peer.url));
    await until(
      () => players.every((player) => player.titles.length >= 4),
      40_000,
      'four titles at each ICY player',
    );
    for (const player of players) {
      expect(player.state.headers).toMatchObject({
        'icy-metaint': '16000',
        'icy-name': 'Liquidsoap titles',
        'icy-genre': 'Test',
        'icy-description': 'Tests on air',
        'icy-br': '128',
      });
      // Titles in order, none skipped: one a second of audio gets a block, a title lasts 2 s.
      const numbers = player.titles.map((title) =>
        Number(/^Tester - Song (\d+)$/.exec(title)?.[1]),
      );
      expect(
        numbers.every((number, index) => index === 0 || number === numbers[index - 1]! + 1),
        player.titles.join(' | '),
      ).toBe(true);
    }
    const tags = await probeTags(peers[1]!.url);
    expect(tags['icy-name']).toBe('Liquidsoap titles');
    expect(tags.StreamTitle).toMatch(/^Tester - Song \d+$/);
    for (const peer of peers) {
      expect((await decode(processes, peer.url, 4)).errors, 'a plain player decodes').toBe('');
    }

    // Icecast's status shape: each peer counts its own players; the source, every peer's.
    const peerStatus = await mountStatus(peers[0]!.url.replace('/stream', '/status-json.xsl'));
    expect(peerStatus).toMatchObject({
      listeners: 1,
      listenurl: peers[0]!.url,
      server_name: 'Liquidsoap titles',
      server_type: 'audio/mpeg',
      title: expect.stringMatching(/^Tester - Song \d+$/),
    });
    const sourceStatus = (await source.statusUrl()).replace('/status', '/status-json.xsl');
    // The source's listeners: the two ICY players, as the peers report them (every 2 s).
    const cluster = await pollUntil(
      () => mountStatus(sourceStatus),
      (status) => status.listeners === 2,
      15_000,
    );
    expect(cluster).toMatchObject({
      listeners: 2,
      server_name: 'Liquidsoap titles',
      server_description: 'Tests on air',
      title: expect.stringMatching(/^Tester - Song \d+$/),
    });
    for (const player of players) player.close();
  });

  it("p2psp bridge forwards a peer's titles to a real icecast2, which shows them in its status-json.xsl", {
    timeout: 150_000,
  }, async (context) => {
    const server: IcecastServer = await startIcecast(context);
    const source = await startPushSource(processes, 'live.mp3');
    processes.spawn('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '90'],
      ...['-c:a', 'libmp3lame', '-b:a', '128k', '-content_type', 'audio/mpeg', '-f', 'mp3'],
      source.url(),
    ]);
    const peer = await startP2pspPeer(processes, await source.started());
    // Titles as radio software sends them to its Icecast mount.
    const setTitle = async (song: string) => {
      const query = new URLSearchParams({ mount: '/live.mp3', mode: 'updinfo', song });
      const response = await fetch(`http://127.0.0.1:${source.port}/admin/metadata?${query}`, {
        headers: { Authorization: `Basic ${btoa(`source:${PUSH_PASSWORD}`)}` },
      });
      expect(response.status).toBe(200);
    };
    await setTitle('First song');
    const mount = server.mountUrl('relay.mp3');
    const bridge = processes.cli(
      ...['bridge', '--from', peer.url, '--to', server.sourceUrl('relay.mp3')],
    );
    await waitForLog(bridge, 'bridge-connect', 20_000, 'the bridge to connect');
    await waitForMount(mount);
    const icecastStatus = `http://127.0.0.1:${server.port}/status-json.xsl`;
    const titleAtIcecast = async () => (await mountStatus(icecastStatus, mount)).title;
    const isTitle = (title: string) => (value: unknown) => value === title;
    expect(await pollUntil(titleAtIcecast, isTitle('First song'), 20_000)).toBe('First song');
    await setTitle('Second song');
    expect(await pollUntil(titleAtIcecast, isTitle('Second song'), 20_000)).toBe('Second song');
    expect(logsNamed(bridge, 'bridge-title').map((line) => line.title)).toEqual([
      'First song',
      'Second song',
    ]);
    // Icecast's own listeners get the title as ICY metadata too (a new listener starts in
    // Icecast's burst of recent audio, whose title may still be the one before).
    const probed = await pollUntil(
      async () => (await probeTags(mount)).StreamTitle,
      isTitle('Second song'),
      20_000,
    );
    expect(probed).toBe('Second song');
  });
});
