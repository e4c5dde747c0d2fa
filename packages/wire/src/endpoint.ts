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
