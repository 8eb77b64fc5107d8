/**
 * RateLimiter: one Durable Object per budget key (`app:{appId}` for the per-app request budget,
 * `auth:{appId}:{route}:{ip}` for per-IP auth limits). A fixed window per key, as in the reference
 * server (@fastify/rate-limit): the first request opens a window of `windowSeconds`, at most `limit`
 * requests pass in it, and Retry-After says when it closes.
 *
 * Storage layout (SQLite-backed synchronous KV, `ctx.storage.kv`):
 *   `window` → { startedAtMs: number, count: number }
 * The state is kept in memory and written through, so an evicted object resumes its window.
 */
import { DurableObject } from 'cloudflare:workers';

interface Window {
  startedAtMs: number;
  count: number;
}

/** The answer to one {@link RateLimiter.take}. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The budget per window. */
  limit: number;
  /** Requests left in this window after this one. */
  remaining: number;
  /** Seconds until the window closes (when refused: the Retry-After value, ≥ 1). */
  retryAfterSeconds: number;
  /** Seconds until the window closes. */
  resetSeconds: number;
}

/** A fixed-window request counter for one budget key (see the top of this file). */
export class RateLimiter extends DurableObject {
  #window: Window | undefined;

  /**
   * Counts one request against the budget.
   * @param limit requests per window (> 0)
   * @param windowSeconds window length in seconds (> 0)
   */
  take(limit: number, windowSeconds: number): RateLimitDecision {
    const nowMs = Date.now();
    const windowMs = windowSeconds * 1000;
    let window = this.#window ?? this.ctx.storage.kv.get<Window>('window');
    if (!window || nowMs - window.startedAtMs >= windowMs) window = { startedAtMs: nowMs, count: 0 };
    const allowed = window.count < limit;
    if (allowed) window = { ...window, count: window.count + 1 };
    this.#window = window;
    this.ctx.storage.kv.put('window', window);
    const resetSeconds = Math.max(1, Math.ceil((window.startedAtMs + windowMs - nowMs) / 1000));
    return { allowed, limit, remaining: Math.max(0, limit - window.count), retryAfterSeconds: allowed ? 0 : resetSeconds, resetSeconds };
  }
}
