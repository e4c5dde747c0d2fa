import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';

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
 * Linux's /proc/net/tcp or /proc/net/tcp6 (bytes written to the socket that the other end
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

  /** `table`: where the kernel lists the TCP sockets of the listener's family. */
  constructor(private readonly table: string) {}

  /** The table of a listener's address family: IPv6 listeners list IPv4 clients as mapped. */
  static forFamily(family: string): TcpSendQueues {
    return new TcpSendQueues(family === 'IPv6' ? '/proc/net/tcp6' : '/proc/net/tcp');
  }

  /**
   * Re-reads the table, off the event loop (the kernel walks its whole connection hash
   * for it: milliseconds, even with few sockets).
   */
  async refresh(localPort: number): Promise<void> {
    if (!this.#available) return;
    let text: string;
    try {
      text = await readFile(this.table, 'latin1');
    } catch {
      this.#available = false;
      return;
    }
    // Lines are `sl local_address rem_address st tx_queue:rx_queue ...`; only those whose
    // local port is ours are split.
    const localColumn = `:${localPort.toString(16).toUpperCase().padStart(4, '0')} `;
    const queues = new Map<string, number>();
    for (
      let found = text.indexOf(localColumn);
      found >= 0;
      found = text.indexOf(localColumn, found + 1)
    ) {
      const lineStart = text.lastIndexOf('\n', found) + 1;
      const lineEnd = text.indexOf('\n', found);
      const [, local, remote, state, queueColumns] = text
        .slice(lineStart, lineEnd < 0 ? undefined : lineEnd)
        .trim()
        .split(/\s+/);
      // The port may also be a remote port (our own client to a peer's port of that number).
      if (!local?.endsWith(localColumn.trimEnd()) || !remote || state === TCP_LISTEN) continue;
      const [remoteHex, remotePortHex] = remote.split(':');
      const txQueue = Number.parseInt(queueColumns?.split(':')[0] ?? '', 16);
      if (!remoteHex || !remotePortHex || !Number.isFinite(txQueue)) continue;
      queues.set(`${decodeAddress(remoteHex)}|${Number.parseInt(remotePortHex, 16)}`, txQueue);
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
