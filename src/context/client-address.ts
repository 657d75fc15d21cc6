import { isIP } from 'node:net';

/**
 * The key that the per-address budgets count under (contract §2, 429 row): an IPv4 address as is,
 * an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports) as its IPv4
 * address, and any other IPv6 address as its /64 prefix in canonical form (`2001:db8:1:2::/64`).
 * One subscriber usually gets a whole /64 and can pick any address inside it, so counting single
 * IPv6 addresses would let one client rotate through 2^64 fresh budgets.
 *
 * Anything that is not an IP address (the procedure-level default, a malformed X-Forwarded-For
 * entry behind a misconfigured proxy) shares the one key `unknown`: rotating junk gets nothing.
 */
export function clientAddressKey(address: string | undefined): string {
  // A zone index (`fe80::1%eth0`) names the local interface, not the client.
  const bare = address?.trim().replace(/%.*$/, '') ?? '';
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return 'unknown';

  const groups = ipv6Groups(bare);
  const isIpv4Mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isIpv4Mapped) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return `${canonicalIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (the WHATWG URL parser does the parsing). */
function ipv6Groups(address: string): number[] {
  // The URL serializer writes hex groups only (no embedded IPv4) with at most one `::`.
  const hex = canonicalIpv6Text(address);
  const [head = '', tail] = hex.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text (lower case, no leading zeros, the longest zero run as `::`), as URL hosts are written. */
const canonicalIpv6Text = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1);

const canonicalIpv6 = (groups: number[]) => canonicalIpv6Text(groups.map((g) => g.toString(16)).join(':'));
