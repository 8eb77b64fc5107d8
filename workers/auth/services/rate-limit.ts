/**
 * Per-IP limits on the public auth routes (API.md §6 table, per 15 minutes), counted by the
 * RateLimiter Durable Object under `auth:{app}:{route}:{subject}`: a fixed window, as in the reference
 * server (@fastify/rate-limit). Every request counts, including refused ones. The subject is the IPv4
 * address, or the IPv6 /56 prefix (see {@link rateLimitSubject}).
 * Overridable per deployment: AUTH_RATE_LIMITS=`login=100,signup=50`, AUTH_RATE_LIMIT_WINDOW_SECONDS.
 */
import { ApiError } from '../../shared/errors.ts';
import { rateLimitSubject } from '../../shared/client-ip.ts';

export { rateLimitSubject };
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
