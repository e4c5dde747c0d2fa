import type { Command } from 'commander';
import { addNodeFlags } from '../node-flags.js';
import { addPeerFlags } from '../peer-flags.js';
import { runNode } from '../run-node.js';

/** `p2psp peer`: join a cluster, relay chunks, serve the stream to players over HTTP; `p2psp node --role peer`. */
export function registerPeerCommand(program: Command): void {
  const command = program
    .command('peer')
    .description('join a cluster, relay its chunks, and serve the stream to players over HTTP');
  addNodeFlags(addPeerFlags(command, true), 'peer')
    .addHelpText(
      'after',
      `
Examples:
  p2psp peer --source 192.0.2.7:4552
  p2psp peer --source radio.example.org:4552 --player-port 9000
  p2psp peer --source 192.0.2.7:4552 --liberated --player-address 0.0.0.0 --player-port 8000
    then, for a private cluster: p2psp source --input http://THIS-HOST:8000/stream
Then play http://127.0.0.1:8080/stream with ffplay, mpv, VLC or a browser.`,
    )
    .action((flags) =>
      runNode(flags.monitor ? 'monitor' : flags.liberated ? 'liberated' : 'peer', flags),
    );
}
