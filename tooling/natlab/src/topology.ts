/**
 * The lab's fake internet. Addresses come from the documentation ranges of RFC 5737
 * (198.51.100.0/24 and 203.0.113.0/24) and private ranges, and exist only inside the lab's
 * namespaces: no veth end is left in the host's namespace, so nothing can route out.
 *
 *                        internet namespace (router, ip_forward=1)
 *                 bridge "exchange" 198.51.100.1/24
 *            +---------------+----------------+----------------------+
 *            |               |                |                      |
 *   stun 198.51.100.2   public-host      a-uplink 203.0.113.1/30   b-uplink 203.0.113.5/30
 *        198.51.100.3   198.51.100.4          |  (netem)                |  (netem)
 *                                      wan 203.0.113.2/30          wan 203.0.113.6/30
 *                                        a-router (NAT)              b-router (NAT)
 *                                      lan 10.0.1.1/24             lan 10.0.2.1/24
 *                                             |                          |
 *                                   bridge "lan"                bridge "lan"
 *                                      |           |                     |
 *                              a-host 10.0.1.2   a-neighbour       b-host 10.0.2.2,
 *                                10.0.1.10-...   10.0.1.3            10.0.2.10-...
 *
 * a-neighbour is a second host on site a's LAN, behind the same NAT (which does not
 * hairpin): peers there reach each other only over their private addresses (EMS).
 */

export type SiteName = 'a' | 'b';
export const SITE_NAMES: readonly SiteName[] = ['a', 'b'];

export interface SiteAddresses {
  /** The router's public address, where the NAT maps the site's hosts to. */
  readonly wanAddress: string;
  /** The internet namespace's end of the router's uplink. */
  readonly uplinkAddress: string;
  readonly lanPrefix: string;
  readonly lanRouterAddress: string;
  /** The host's main address. */
  readonly hostAddress: string;
  /** Extra host addresses, one per parallel run (each gets its own sequential port counter). */
  readonly runAddresses: readonly string[];
  /** The second host on the LAN (site a only: the `a-neighbour` namespace), or null. */
  readonly neighbourAddress: string | null;
}

export const STUN_PRIMARY_ADDRESS = '198.51.100.2';
export const STUN_ALTERNATE_ADDRESS = '198.51.100.3';
export const PUBLIC_HOST_ADDRESS = '198.51.100.4';
export const EXCHANGE_ADDRESS = '198.51.100.1';
export const EXCHANGE_PREFIX_LENGTH = 24;

export function siteAddresses(site: SiteName, runAddressCount: number): SiteAddresses {
  const index = site === 'a' ? 0 : 1;
  const lan = `10.0.${index + 1}`;
  return {
    wanAddress: `203.0.113.${index * 4 + 2}`,
    uplinkAddress: `203.0.113.${index * 4 + 1}`,
    lanPrefix: `${lan}.0/24`,
    lanRouterAddress: `${lan}.1`,
    hostAddress: `${lan}.2`,
    runAddresses: Array.from({ length: runAddressCount }, (_, run) => `${lan}.${10 + run}`),
    neighbourAddress: site === 'a' ? `${lan}.3` : null,
  };
}

/** Namespace roles; the namespace name is `<prefix>-<role>`. */
export const ROLES = [
  'internet',
  'stun',
  'public-host',
  'a-router',
  'a-host',
  'a-neighbour',
  'b-router',
  'b-host',
] as const;
export type Role = (typeof ROLES)[number];
