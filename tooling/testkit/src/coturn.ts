import { join } from 'node:path';

export interface CoturnStunOptions {
  /** The two listening addresses RFC 5780 needs (coturn's --listening-ip, twice). */
  readonly primaryAddress: string;
  readonly alternateAddress: string;
  /** The primary port; coturn answers CHANGE-REQUEST from `alternatePort`. */
  readonly port: number;
  readonly alternatePort: number;
  /** A scratch folder for the pid file and the user database (never /var/lib/turn). */
  readonly folder: string;
}

/** coturn logs this once its UDP listeners are up (coturn 4.6). */
export const COTURN_READY_LINE = 'Total General servers';

/**
 * Arguments for Debian's `turnserver` as a plain RFC 5780 STUN server: no TURN, no TLS or
 * DTLS, no CLI, logging to stdout. Shared by the loopback interop test (@p2psp/nat) and the
 * namespace NAT lab, so both test against the same coturn setup.
 */
export function coturnStunArguments(options: CoturnStunOptions): string[] {
  return [
    '-n',
    '--stun-only',
    '-z',
    '--listening-ip',
    options.primaryAddress,
    '--listening-ip',
    options.alternateAddress,
    '--listening-port',
    String(options.port),
    '--alt-listening-port',
    String(options.alternatePort),
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--simple-log',
    '--log-file',
    'stdout',
    '--pidfile',
    join(options.folder, 'turnserver.pid'),
    '--db',
    join(options.folder, 'turndb'),
  ];
}
