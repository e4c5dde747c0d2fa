import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** /proc/net/tcp `st` column: a listening socket has no peer (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';

/** An address as one spelling: IPv6 through the URL parser (RFC 5952), IPv4 as it is. */
export function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  try {
    // The zone (fe80::1%eth0) is not part of the address; the URL host keeps its brackets.
    return new URL(`http://[${address.split('%')[0]}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/**
 * A /proc/net/tcp address: 32-bit words printed in host byte order (`%08X` of each u32 of
 * the network-order bytes), so on a little-endian host each word's bytes are reversed.
 */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  if (endianness() === 'LE') {
    for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let offset = 0; offset < 16; offset += 2)
    groups.push(bytes.readUInt16BE(offset).toString(16));
  return canonicalAddress(groups.join(':'));
}

/**
 * The kernel's send queue of each TCP connection on one local port: the `tx_queue` column of
 * Linux's /proc/net/tcp and /proc/net/tcp6 (bytes written to the socket that the other end
 * has not acknowledged yet). A player that never reads leaves them there, and Linux grows a
 * send buffer up to net.ipv4.tcp_wmem's maximum (4 MiB by default), so Node's own write
 * queue stays empty for minutes while kernel memory grows. Node 20 can neither read the
 * queue (no getsockopt: TCP_INFO, SIOCOUTQ) nor cap it (no SO_SNDBUF on TCP sockets; the
 * proposal nodejs/node#65022 is open), hence the table. Elsewhere (no /proc) every queue
 * reads 0 and only Node's write queue counts.
 */
export class TcpSendQueues {
  #available = true;
  #queues = new Map<string, number>();

  /** `tables`: where the kernel lists TCP sockets (tests give their own copies). */
  constructor(private readonly tables: readonly string[] = TABLES) {}

  /** Re-reads the tables (synchronously: a few hundred lines, and the queues stay consistent). */
  refresh(localPort: number): void {
    if (!this.#available) return;
    const portColumn = `:${localPort.toString(16).toUpperCase().padStart(4, '0')} `;
    const queues = new Map<string, number>();
    for (const table of this.tables) {
      let text: string;
      try {
        text = readFileSync(table, 'latin1');
      } catch {
        if (table === this.tables[0]) {
          this.#available = false;
          return;
        }
        continue; // No IPv6 in this kernel.
      }
      for (const line of text.split('\n')) {
        if (!line.includes(portColumn)) continue;
        // sl local_address rem_address st tx_queue:rx_queue ...
        const [, local, remote, state, queueColumns] = line.trim().split(/\s+/);
        if (!local?.endsWith(portColumn.trimEnd()) || !remote || state === TCP_LISTEN) continue;
        const [remoteHex, remotePortHex] = remote.split(':');
        const txQueue = Number.parseInt(queueColumns?.split(':')[0] ?? '', 16);
        if (!remoteHex || !remotePortHex || !Number.isFinite(txQueue)) continue;
        queues.set(`${decodeAddress(remoteHex)}|${Number.parseInt(remotePortHex, 16)}`, txQueue);
      }
    }
    this.#queues = queues;
  }

  /** Bytes in the kernel's send queue of this connection at the last refresh (0: unknown). */
  queued(socket: Socket): number {
    const { remoteAddress, remotePort } = socket;
    if (remoteAddress === undefined || remotePort === undefined) return 0;
    return this.#queues.get(`${canonicalAddress(remoteAddress)}|${remotePort}`) ?? 0;
  }
}
