/**
 * Who a per-client budget belongs to when the caller is known only by its IP address: shared by the
 * router's per-principal request budget (anonymous callers) and auth's per-IP limits (API.md §1.5, §6).
 */

/** IPv6 prefix length that counts as one client (express-rate-limit's `ipv6Subnet` default). */
const ipv6PrefixBits = 56;

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail folded in), or null. */
function ipv6Groups(ip: string): number[] | null {
  let text = ip.toLowerCase().split('%')[0]!;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((n) => n > 255)) return null;
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const head = split(halves[0]!);
  const tail = halves.length === 2 ? split(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * Who a per-IP budget belongs to: an IPv4 address as is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address as its /56 prefix — one subscriber usually holds at least a /64, so keying on the
 * whole address would give an attacker a fresh budget per address. Anything unparsable is used as is.
 */
export function rateLimitSubject(ip: string | null): string {
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return ip;
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  const kept = groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, ipv6PrefixBits - 16 * i));
    return bits === 0 ? 0 : g & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${kept.slice(0, Math.ceil(ipv6PrefixBits / 16)).map((g) => g.toString(16)).join(':')}::/${ipv6PrefixBits}`;
}
