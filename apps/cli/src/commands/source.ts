import { DEFAULT_SOURCE_PORT } from '@p2psp/source/node';
import type { Command } from 'commander';
import { addNodeFlags } from '../node-flags.js';
import { runNode } from '../run-node.js';
import { addSourceFlags } from '../source-flags.js';

/** `p2psp source`: ingest a live stream and feed a cluster (DBS rules 1, 4, 6); `p2psp node --role source`. */
export function registerSourceCommand(program: Command): void {
  const command = program
    .command('source')
    .description(
      'ingest a live stream (URL, file, stdin, or pushed by Icecast source clients) and feed a cluster of peers',
    );
  addSourceFlags(addNodeFlags(command, 'source'))
    .addHelpText(
      'after',
      `
Examples:
  p2psp source --input music.mp3 --loop --monitor-credential-file monitor.secret --status-port 9100
  p2psp source --input https://icecast.example.org:8000/radio.ogg
  p2psp source --input music.mp3 --loop
  p2psp source --listen-source 8000/live.mp3 --source-password hackme
    (then push to it: ffmpeg -re -i music.flac -c:a libmp3lame -content_type audio/mpeg -f mp3 icecast://source:hackme@HOST:8000/live.mp3)
  ffmpeg -re -i talk.flac -c:a libopus -f ogg - | p2psp source --input -
Then, on each peer machine: p2psp peer --source THIS_HOST:${DEFAULT_SOURCE_PORT}`,
    )
    .action((flags) => runNode('source', flags));
}
