/**
 * IP literal <-> bytes, without node:net so the STUN codec stays usable in any runtime.
 * IPv6 text follows RFC 5952 (lower case, longest zero run compressed) and IPv4-mapped
 * addresses print as `::ffff:1.2.3.4`, which is also how Node's dgram reports them, so
 * endpoints compare equal as strings.
 */

export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    const part = parts[index]!;
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[index] = value;
  }
  return bytes;
}

export function parseIpv6(text: string): Uint8Array | null {
  // Zone ids (fe80::1%eth0) are local to this host and never travel in STUN.
  const withoutZone = text.split('%')[0]!;
  let head = withoutZone;
  let tailIpv4: Uint8Array | null = null;
  const lastColon = withoutZone.lastIndexOf(':');
  if (lastColon >= 0 && withoutZone.slice(lastColon + 1).includes('.')) {
    tailIpv4 = parseIpv4(withoutZone.slice(lastColon + 1));
    if (!tailIpv4) return null;
    head = `${withoutZone.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  if (tailIpv4) bytes.set(tailIpv4, 12);
  return bytes;
}

/** Bytes of an IPv4 or IPv6 literal, or null when it is neither. */
export function parseIpAddress(text: string): Uint8Array | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let index = 0; index < 8; index++)
    groups.push((bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
  const isMapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (isMapped) return `::ffff:${formatIpv4(bytes.subarray(12, 16))}`;
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength && end - start >= 2) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const text = groups.map((group) => group.toString(16));
  if (bestStart < 0) return text.join(':');
  const left = text.slice(0, bestStart).join(':');
  const right = text.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/** The canonical text of an address literal (so `::FFFF:0:1` and `::ffff:0:1` compare equal). */
export function canonicalIpAddress(text: string): string | null {
  const bytes = parseIpAddress(text);
  if (!bytes) return null;
  return bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}
