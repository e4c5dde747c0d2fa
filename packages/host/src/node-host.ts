import dgram from 'node:dgram';
import net, { isIPv4, isIPv6 } from 'node:net';
import type {
  ConnectionId,
  CoreEvent,
  CoreInput,
  CoreOutput,
  Endpoint,
  Instant,
  SansIoCore,
  StreamInfo,
} from '@p2psp/wire';
import { formatEndpoint, unmapIpv4 } from '@p2psp/wire';
import { CoreDriver } from './core-driver.js';
import { DatagramSender } from './datagram-sender.js';
import { bindUdp, closeQuietly, errorCode, listenTcp } from './sockets.js';

/** The subset of a pino logger the host uses (so this package does not depend on pino). */
export interface HostLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Where the host's sockets ended up, passed to the core factory before the core exists. */
export interface HostBinding {
  /** The bound UDP socket (the real port when 0 was asked). */
  readonly udp: Endpoint;
  /** The listening TCP server, when one was asked for. */
  readonly tcp: Endpoint | null;
}

/** The event union a core declares through `SansIoCore<Event>`. */
export type EventOf<Core> = Core extends SansIoCore<infer Event> ? Event : CoreEvent;

export interface NodeHostOptions<Core extends SansIoCore> {
  /** Builds the core once the sockets are bound (a peer announces its own UDP endpoint). */
  readonly createCore: (binding: HostBinding) => Core;
  /**
   * Runs on the bound UDP socket before the core exists, e.g. a peer detecting its NAT on
   * the socket it will stream on. Its own 'message' listeners must be gone when
   * it resolves; a rejection closes the sockets and rejects `startNodeHost`.
   */
  readonly beforeCore?: (socket: dgram.Socket, binding: HostBinding) => Promise<void>;
  /**
   * Sees each datagram on the UDP socket before the core; returning true takes it (counted
   * as received, not given to the core). The source's RFC 5780 STUN service uses it.
   */
  readonly interceptDatagram?: (bytes: Uint8Array, from: Endpoint) => boolean;
  /** UDP bind address and port; port 0 picks a free one. IPv6 literals open a udp6 socket. */
  readonly udp: Endpoint;
  /** Listen for TCP connections (the source's join port); connections get ids 1, 2, 3, ... */
  readonly tcp?: Endpoint;
  /**
   * Listen for TCP on the same port number the UDP socket got (the source: peers join over
   * TCP and send hellos over UDP to one `HOST:PORT`). With port 0, retries until both fit.
   */
  readonly sharePort?: boolean;
  /** Bytes queued on one TCP connection before the host gives up on it (default 4 MiB). */
  readonly maxQueuedWriteBytes?: number;
  readonly logger?: HostLogger;
  /** Monotonic milliseconds; defaults to performance.now(). */
  readonly clock?: () => Instant;
  readonly onStreamHeader?: (mediaType: string, header: Uint8Array) => void;
  readonly onPlay?: (chunkNumber: number, payload: Uint8Array | null) => void;
  /** The stream's title (from chunk `chunkNumber` on) and station info changed (a peer). */
  readonly onStreamMetadata?: (chunkNumber: number, title: string, info: StreamInfo) => void;
  /** The core's own events, typed as the core declares them (`PeerEvent`, `SourceEvent`). */
  readonly onEvent?: (event: EventOf<Core>) => void;
  readonly onStopped?: (reason: string) => void;
}

/** What the host counts; socket trouble is counted and logged, never thrown. */
export interface HostCounters {
  datagramsReceived: number;
  datagramBytesReceived: number;
  datagramsSent: number;
  datagramBytesSent: number;
  datagramSendErrors: number;
  /** Chunks dropped unsent: the upload fell so far behind that their turn had passed. */
  chunksShed: number;
  connectionsAccepted: number;
  connectionsOpened: number;
  connectionErrors: number;
  connectionsDroppedBackpressure: number;
  tcpBytesReceived: number;
  tcpBytesSent: number;
  socketErrors: number;
}

export interface NodeHost<Core extends SansIoCore> {
  readonly core: Core;
  readonly binding: HostBinding;
  readonly counters: Readonly<HostCounters>;
  /** Feed an input from outside the sockets (ingest data, ingest end). */
  handle(input: CoreInput): void;
  /**
   * Calls the core with the clock's now, then performs its outputs and rearms the timer as
   * after an input: for a core's own operation (a peer's change of role).
   */
  run(call: (now: Instant) => void): void;
  /** Asks the core to stop (`stop` input), waits for its `stopped` (or the grace period), closes. */
  stop(gracePeriodMs?: number): Promise<void>;
  /** Closes every socket at once, without telling the core. */
  close(): Promise<void>;
  /** True once the core said `stopped` or the host was closed. */
  readonly closed: boolean;
}

const DEFAULT_MAX_QUEUED_WRITE_BYTES = 4 * 1024 * 1024;

const silentLogger: HostLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

function createUdpSocket(address: string): dgram.Socket {
  return dgram.createSocket({
    type: isIPv6(address) ? 'udp6' : 'udp4',
    // Chunks arrive in bursts (rule 3); a larger receive buffer avoids kernel drops.
    recvBufferSize: 4 * 1024 * 1024,
  });
}

async function bindSockets(options: {
  readonly udp: Endpoint;
  readonly tcp?: Endpoint;
  readonly sharePort?: boolean;
}): Promise<{ udp: dgram.Socket; server: net.Server | null }> {
  // With a shared port picked by the system, the TCP port may be taken: try a few UDP ports.
  const attempts = options.sharePort && options.udp.port === 0 ? 8 : 1;
  for (let attempt = 1; ; attempt += 1) {
    const udp = createUdpSocket(options.udp.address);
    await bindUdp(udp, options.udp);
    if (!options.tcp) return { udp, server: null };
    const server = net.createServer();
    const tcpPort = options.sharePort ? udp.address().port : options.tcp.port;
    try {
      await listenTcp(server, { address: options.tcp.address, port: tcpPort });
      return { udp, server };
    } catch (error) {
      udp.close();
      if (attempt >= attempts) throw error;
    }
  }
}

/**
 * Runs one sans-IO core on real sockets: a UDP socket, an optional TCP listener, the TCP
 * connections the core asks for, and one timer armed at `core.pollTimeout()` on a
 * monotonic clock. After every input the host drains `pollOutput()` and performs each
 * output. Every socket error is counted and logged; none is thrown (rule 3: a node never
 * crashes on network input).
 */
export async function startNodeHost<Core extends SansIoCore>(
  options: NodeHostOptions<Core>,
): Promise<NodeHost<Core>> {
  const logger = options.logger ?? silentLogger;
  const maxQueued = options.maxQueuedWriteBytes ?? DEFAULT_MAX_QUEUED_WRITE_BYTES;
  const counters: HostCounters = {
    datagramsReceived: 0,
    datagramBytesReceived: 0,
    datagramsSent: 0,
    datagramBytesSent: 0,
    datagramSendErrors: 0,
    chunksShed: 0,
    connectionsAccepted: 0,
    connectionsOpened: 0,
    connectionErrors: 0,
    connectionsDroppedBackpressure: 0,
    tcpBytesReceived: 0,
    tcpBytesSent: 0,
    socketErrors: 0,
  };

  const { udp, server } = await bindSockets(options);
  const udpAddress = udp.address();
  const tcpAddress = server?.address();
  const binding: HostBinding = {
    udp: { address: udpAddress.address, port: udpAddress.port },
    tcp:
      tcpAddress && typeof tcpAddress === 'object'
        ? { address: tcpAddress.address, port: tcpAddress.port }
        : null,
  };

  let core: Core;
  try {
    await options.beforeCore?.(udp, binding);
    core = options.createCore(binding);
  } catch (error) {
    udp.close();
    server?.close();
    throw error;
  }

  const udpIsIpv6 = isIPv6(options.udp.address);
  const connections = new Map<ConnectionId, net.Socket>();
  let nextAcceptedId = 1;
  let closed = false;
  let inFlightDatagrams = 0;
  let stoppedResolve: (() => void) | null = null;
  const stoppedPromise = new Promise<void>((resolve) => {
    stoppedResolve = resolve;
  });

  // A bad address from the core (or a closed socket): count, never crash.
  const sendFailed = (error: unknown, to: Endpoint): void => {
    counters.datagramSendErrors += 1;
    logger.warn({ to: formatEndpoint(to), code: errorCode(error) }, 'datagram-send-fail');
  };
  const sender = new DatagramSender(udp, {
    onSent: (bytes) => {
      inFlightDatagrams += 1;
      counters.datagramsSent += 1;
      counters.datagramBytesSent += bytes.byteLength;
    },
    onDone: (error, to) => {
      inFlightDatagrams -= 1;
      if (error) {
        counters.datagramSendErrors += 1;
        logger.debug({ to: formatEndpoint(to), code: errorCode(error) }, 'datagram-send-fail');
      }
    },
    onFail: sendFailed,
    onShed: () => {
      counters.chunksShed += 1;
    },
  });

  const perform = (output: CoreOutput): void => {
    switch (output.type) {
      case 'send-datagram': {
        if (closed) return;
        const { to, bytes } = output;
        try {
          // A dual-stack udp6 socket reaches IPv4 peers at their IPv4-mapped address.
          const address = udpIsIpv6 && isIPv4(to.address) ? `::ffff:${to.address}` : to.address;
          sender.send(to, address, bytes);
        } catch (error) {
          sendFailed(error, to);
        }
        return;
      }
      case 'connect':
        openConnection(output.connection, output.to);
        return;
      case 'write': {
        const socket = connections.get(output.connection);
        if (!socket || socket.destroyed) return;
        if (socket.writableLength + output.bytes.byteLength > maxQueued) {
          // Backpressure: the remote does not read. Rather than buffer without bound,
          // give the connection up and tell the core, as if the remote had closed it.
          counters.connectionsDroppedBackpressure += 1;
          logger.warn(
            { connection: output.connection, queued: socket.writableLength },
            'connection-drop-backpressure',
          );
          socket.destroy();
          return;
        }
        counters.tcpBytesSent += output.bytes.byteLength;
        socket.write(output.bytes);
        return;
      }
      case 'close': {
        const socket = connections.get(output.connection);
        if (!socket) return;
        connections.delete(output.connection);
        // The core closed it: no `connection-closed` goes back for it. Flush, then end.
        socket.end();
        setTimeout(() => socket.destroy(), 2_000).unref();
        return;
      }
      case 'stream-header':
        options.onStreamHeader?.(output.mediaType, output.header);
        return;
      case 'play':
        options.onPlay?.(output.chunkNumber, output.payload);
        return;
      case 'stream-metadata':
        options.onStreamMetadata?.(output.chunkNumber, output.title, output.info);
        return;
      case 'event':
        // The outputs come from `options.createCore`'s core, so its events are `EventOf<Core>`.
        options.onEvent?.(output.event as EventOf<Core>);
        return;
      case 'stopped':
        logger.info({ reason: output.reason }, 'core-stop');
        options.onStopped?.(output.reason);
        stoppedResolve?.();
        return;
    }
  };

  const driver = new CoreDriver(core, {
    perform,
    // A callback of the embedder threw: log it, keep the node running.
    onPerformError: (error, output) => {
      logger.error({ code: errorCode(error), output: output.type }, 'output-fail');
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });

  const feed = (input: CoreInput): void => {
    if (closed) return;
    driver.run((now) => core.handle(input, now));
  };

  const attach = (id: ConnectionId, socket: net.Socket): void => {
    connections.set(id, socket);
    socket.setNoDelay(true);
    let reported = false;
    const report = (reason: string) => {
      if (reported) return;
      reported = true;
      // Only tell the core about connections it still owns (not ones it closed itself).
      if (connections.get(id) === socket) {
        connections.delete(id);
        feed({ type: 'connection-closed', connection: id, reason });
      }
    };
    socket.on('data', (bytes: Buffer) => {
      counters.tcpBytesReceived += bytes.byteLength;
      feed({ type: 'connection-data', connection: id, bytes });
    });
    socket.on('error', (error) => {
      counters.connectionErrors += 1;
      logger.debug({ connection: id, code: errorCode(error) }, 'connection-error');
      report(errorCode(error));
    });
    socket.on('close', () => report('closed'));
    socket.on('end', () => {
      // Half-close from the remote: finish ours too, the join exchange is done.
      socket.end();
    });
  };

  function openConnection(id: ConnectionId, to: Endpoint): void {
    if (closed) return;
    const socket = net.connect({ host: to.address, port: to.port });
    counters.connectionsOpened += 1;
    attach(id, socket);
    socket.once('connect', () => {
      feed({ type: 'connection-open', connection: id, remote: to });
    });
  }

  udp.on('message', (bytes, remote) => {
    counters.datagramsReceived += 1;
    counters.datagramBytesReceived += bytes.byteLength;
    const from = { address: unmapIpv4(remote.address), port: remote.port };
    if (options.interceptDatagram?.(bytes, from) === true) return;
    feed({ type: 'datagram', from, bytes });
  });
  udp.on('error', (error) => {
    // ICMP port unreachable and the like surface here on some systems: count and go on.
    counters.socketErrors += 1;
    logger.warn({ code: errorCode(error) }, 'udp-socket-error');
  });

  server?.on('connection', (socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    const id = nextAcceptedId++;
    counters.connectionsAccepted += 1;
    attach(id, socket);
    feed({
      type: 'connection-open',
      connection: id,
      remote: {
        address: unmapIpv4(socket.remoteAddress ?? ''),
        port: socket.remotePort ?? 0,
      },
    });
  });
  server?.on('error', (error) => {
    counters.socketErrors += 1;
    logger.warn({ code: errorCode(error) }, 'tcp-server-error');
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    driver.stop();
    // Let queued datagrams (goodbyes, rule 6) leave the socket first; bounded wait.
    for (let tries = 0; inFlightDatagrams > 0 && tries < 50; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const socket of connections.values()) socket.destroy();
    connections.clear();
    await Promise.all([
      closeQuietly(udp),
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
      }),
    ]);
    stoppedResolve?.();
  };

  // Arm the first timer and flush whatever the core queued in its constructor.
  driver.run(() => {});

  return {
    core,
    binding,
    counters,
    handle: feed,
    run: (call) => {
      if (!closed) driver.run(call);
    },
    get closed() {
      return closed;
    },
    async stop(gracePeriodMs = 2_000): Promise<void> {
      if (closed) return;
      feed({ type: 'stop' });
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        stoppedPromise,
        new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, gracePeriodMs);
        }),
      ]);
      clearTimeout(graceTimer);
      await close();
    },
    close,
  };
}
