/** A UDP or TCP endpoint: an IPv4 or IPv6 literal and a port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** `1.2.3.4:5` or `[::1]:5`, the form used in logs, flags and tables. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/** Two endpoints are the same when address and port are equal. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.address === b.address;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2), any other
 * address as it is. A dual-stack socket reports an IPv4 peer as `::ffff:10.0.0.5`; unmapped,
 * it matches what an IPv4 socket sees of the same peer (`10.0.0.5`).
 */
export function unmapIpv4(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.')
    ? address.slice('::ffff:'.length)
    : address;
}
