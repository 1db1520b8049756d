/**
 * Remote addresses as uWS gives them (`getRemoteAddressAsText`): IPv4 dotted (`127.0.0.1`) on an IPv4 listener,
 * the long IPv6 form on an IPv6 one (`0000:0000:0000:0000:0000:0000:0000:0001`, and an IPv4 client of a
 * dual-stack listener as `0000:0000:0000:0000:0000:ffff:7f00:0001`). Compressed forms (`::1`, `::ffff:127.0.0.1`)
 * and a zone (`fe80::1%eth0`) are read too. Parsed by hand (no allocation beyond the small result), once per
 * API request or live-log upgrade.
 */

/** An address as numbers: IPv4 (IPv4-mapped IPv6 included) as one 32-bit value, IPv6 as eight 16-bit groups. */
export type ParsedAddress = { v4: number } | { v6: number[] };

function parseV4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

function parseGroups(text: string): number[] | null {
  if (text === '') return [];
  const out: number[] = [];
  for (const part of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    out.push(parseInt(part, 16));
  }
  return out;
}

/** RFC 4291 §2.2 text forms; null when `text` is not an address. */
export function parseAddress(text: string): ParsedAddress | null {
  if (!text.includes(':')) {
    const v4 = parseV4(text);
    return v4 === null ? null : { v4 };
  }
  let rest = text;
  const zone = rest.indexOf('%');
  if (zone >= 0) rest = rest.slice(0, zone);
  if (rest.startsWith('[') && rest.endsWith(']')) rest = rest.slice(1, -1);
  // A trailing dotted IPv4 (RFC 4291 §2.2 form 3) counts as two groups.
  let tail: number[] = [];
  const lastColon = rest.lastIndexOf(':');
  if (rest.indexOf('.', lastColon) >= 0) {
    const v4 = parseV4(rest.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    rest = rest.slice(0, lastColon + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  let groups: number[];
  const gap = rest.indexOf('::');
  if (gap >= 0) {
    if (rest.indexOf('::', gap + 1) >= 0) return null;
    const head = parseGroups(rest.slice(0, gap));
    const back = parseGroups(rest.slice(gap + 2));
    if (head === null || back === null) return null;
    const missing = 8 - head.length - back.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...back, ...tail];
  } else {
    const all = parseGroups(rest);
    if (all === null) return null;
    groups = [...all, ...tail];
    if (groups.length !== 8) return null;
  }
  // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2): the IPv4 client of a dual-stack listener.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return { v4: groups[6]! * 65536 + groups[7]! };
  }
  return { v6: groups };
}

/**
 * True for loopback: 127.0.0.0/8 (RFC 1122 §3.2.1.3), ::1 (RFC 4291 §2.5.3) and their IPv4-mapped forms.
 * Anything that is not an address (an empty string, a Unix socket) is not loopback.
 */
export function isLoopback(text: string): boolean {
  const a = parseAddress(text);
  if (a === null) return false;
  if ('v4' in a) return a.v4 >>> 24 === 127;
  const g = a.v6;
  return g[7] === 1 && g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0 && g[6] === 0;
}

/**
 * The key one client is counted under (failed logins): an IPv4 address, or the /64 of an IPv6 one (one host
 * usually holds a whole /64, so counting single IPv6 addresses would give it 2^64 tries). Unparsable text is
 * its own key.
 */
export function clientKey(text: string): string {
  const a = parseAddress(text);
  if (a === null) return text;
  if ('v4' in a) return dotted(a.v4);
  return `${a.v6.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/**
 * One text per address, whatever form it was written or reported in (`::1` and uWS's long
 * `0000:…:0001`; an IPv4 client of a dual-stack listener and its dotted IPv4): for comparing a configured address
 * with a remote one. Unparsable text is its own key.
 */
export function addressKey(text: string): string {
  const a = parseAddress(text);
  if (a === null) return text;
  return 'v4' in a ? dotted(a.v4) : a.v6.map((g) => g.toString(16)).join(':');
}

function dotted(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
}
