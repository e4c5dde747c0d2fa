/**
 * IP address literals to bytes and back, without node:net so the codec runs anywhere.
 * Hand-written because the codec needs the 4/16 raw bytes, which node:net does not expose.
 *
 * Decoded IPv6 addresses are formatted exactly as Node's sockets report them (libuv's
 * inet_ntop: RFC 5952 section 4 lower-case hex, longest run of two or more zero groups
 * compressed, first run on ties; plus dotted IPv4 for ::ffff:a.b.c.d and ::a.b.c.d), so a
 * decoded endpoint compares equal, as a string, to the `rinfo.address` of a datagram from it.
 */

/** The 4 bytes of a dotted-quad IPv4 literal, or null when it is not one (no leading zeros). */
export function parseIpv4(address: string): Uint8Array | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    const part = parts[index]!;
    // Leading zeros are refused: some parsers read them as octal (inet_aton), others not.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[index] = value;
  }
  return bytes;
}

/** The 16 bytes of an IPv6 literal (RFC 4291 section 2.2 text forms), or null. No zone ids. */
export function parseIpv6(address: string): Uint8Array | null {
  if (address.length === 0 || address.length > 45) return null;
  const gap = address.indexOf('::');
  let headWords: number[] | null;
  let tailWords: number[] | null = [];
  if (gap < 0) {
    headWords = parseWords(address, true);
    if (headWords === null || headWords.length !== 8) return null;
  } else {
    if (address.indexOf('::', gap + 1) >= 0) return null;
    headWords = parseWords(address.slice(0, gap), false);
    tailWords = parseWords(address.slice(gap + 2), true);
    if (headWords === null || tailWords === null) return null;
    if (headWords.length + tailWords.length > 7) return null;
  }
  const bytes = new Uint8Array(16);
  const place = (words: number[], start: number) => {
    for (let index = 0; index < words.length; index++) {
      bytes[start + index * 2] = words[index]! >> 8;
      bytes[start + index * 2 + 1] = words[index]! & 0xff;
    }
  };
  place(headWords, 0);
  place(tailWords, 16 - tailWords.length * 2);
  return bytes;
}

/** 16-bit words of colon-separated hex groups; an embedded IPv4 may only end the address. */
function parseWords(text: string, mayEndWithIpv4: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const words: number[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!;
    if (mayEndWithIpv4 && index === parts.length - 1 && part.includes('.')) {
      const ipv4 = parseIpv4(part);
      if (ipv4 === null) return null;
      words.push((ipv4[0]! << 8) | ipv4[1]!, (ipv4[2]! << 8) | ipv4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    words.push(Number.parseInt(part, 16));
  }
  return words;
}

/** Dotted quad of 4 bytes at `offset`. */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** libuv's inet_ntop6 (src/inet.c), step for step, on 16 bytes at `offset`. */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const words: number[] = [];
  for (let index = 0; index < 8; index++) {
    words.push((bytes[offset + index * 2]! << 8) | bytes[offset + index * 2 + 1]!);
  }
  let bestBase = -1;
  let bestLength = 0;
  let currentBase = -1;
  let currentLength = 0;
  for (let index = 0; index < 8; index++) {
    if (words[index] === 0) {
      if (currentBase === -1) {
        currentBase = index;
        currentLength = 1;
      } else {
        currentLength++;
      }
    } else if (currentBase !== -1) {
      if (bestBase === -1 || currentLength > bestLength) {
        bestBase = currentBase;
        bestLength = currentLength;
      }
      currentBase = -1;
    }
  }
  if (currentBase !== -1 && (bestBase === -1 || currentLength > bestLength)) {
    bestBase = currentBase;
    bestLength = currentLength;
  }
  if (bestBase !== -1 && bestLength < 2) bestBase = -1;
  let text = '';
  for (let index = 0; index < 8; index++) {
    if (bestBase !== -1 && index >= bestBase && index < bestBase + bestLength) {
      if (index === bestBase) text += ':';
      continue;
    }
    if (index !== 0) text += ':';
    if (
      index === 6 &&
      bestBase === 0 &&
      (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))
    ) {
      return text + formatIpv4(bytes, offset + 12);
    }
    text += words[index]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLength === 8) text += ':';
  return text;
}
