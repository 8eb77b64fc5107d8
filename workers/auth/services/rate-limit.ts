/**
 * Per-IP limits on the public auth routes (API.md §6 table, per 15 minutes), counted by the
 * RateLimiter Durable Object under `auth:{app}:{route}:{subject}`: a fixed window, as in the reference
 * server (@fastify/rate-limit). Every request counts, including refused ones. The subject is the IPv4
 * address, or the IPv6 /56 prefix (see {@link rateLimitSubject}).
 * Overridable per deployment: AUTH_RATE_LIMITS=`login=100,signup=50`, AUTH_RATE_LIMIT_WINDOW_SECONDS.
 */
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';

/** Requests per window per IP (API.md §6). */
export const defaultAuthLimits = {
  signup: 5,
  login: 10,
  refresh: 20,
  'magic-link': 5,
  'magic-link-verify': 10,
  'verify-email': 10,
  'forgot-password': 3,
  'reset-password': 5,
  /** Starting an OAuth sign-in (each start stores a pending state row); not in API.md, which sets none. */
  oauth: 30,
} as const;

export type LimitedRoute = keyof typeof defaultAuthLimits;

const defaultWindowSeconds = 15 * 60;

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

function limitFor(env: Pick<Env, 'AUTH_RATE_LIMITS'>, route: LimitedRoute): number {
  for (const pair of (env.AUTH_RATE_LIMITS ?? '').split(',')) {
    const [name, value] = pair.split('=').map((s) => s.trim());
    const limit = Number(value);
    if (name === route && Number.isInteger(limit) && limit > 0) return limit;
  }
  return defaultAuthLimits[route];
}

/**
 * Counts one request from `ip` (its {@link rateLimitSubject}) against `route`'s budget for `appId`.
 * @throws ApiError QUOTA_RATE_LIMIT (429, `Retry-After` in seconds) when the budget is spent
 */
export async function takeAuthBudget(env: Pick<Env, 'RATE_LIMITER' | 'AUTH_RATE_LIMITS' | 'AUTH_RATE_LIMIT_WINDOW_SECONDS'>, appId: string, route: LimitedRoute, ip: string | null): Promise<void> {
  const limit = limitFor(env, route);
  const configuredWindow = Number(env.AUTH_RATE_LIMIT_WINDOW_SECONDS);
  const windowSeconds = Number.isInteger(configuredWindow) && configuredWindow > 0 ? configuredWindow : defaultWindowSeconds;
  const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`auth:${appId}:${route}:${rateLimitSubject(ip)}`));
  const decision = await limiter.take(limit, windowSeconds);
  if (!decision.allowed) {
    throw new ApiError('QUOTA_RATE_LIMIT', 'Too many requests, please try again later.', {
      details: { limit, window_seconds: windowSeconds, retry_after_seconds: decision.retryAfterSeconds },
      headers: {
        'retry-after': String(decision.retryAfterSeconds),
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(decision.resetSeconds),
      },
    });
  }
}
