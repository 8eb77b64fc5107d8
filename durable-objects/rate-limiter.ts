/**
 * RateLimiter: one Durable Object per budget key, in two roles.
 * - `take`: exact counting for auth's per-IP limits (`auth:{appId}:{route}:{ip}`). A fixed window per
 *   key, as in the reference server (@fastify/rate-limit): the first request opens a window of
 *   `windowSeconds`, at most `limit` requests pass in it, and Retry-After says when it closes.
 * - `add`: where the router's isolates reconcile the request budget (`budget:app:{appId}[:{principal}]`,
 *   workers/router/budget.ts) — each adds what it counted and learns the window's global count; no
 *   request waits on it.
 *
 * Storage layout (SQLite-backed synchronous KV, `ctx.storage.kv`):
 *   `window` → { startedAtMs: number, count: number }   (take)
 *   `sum` → { startedAtMs: number, count: number }       (add)
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
  #sum: Window | undefined;

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

  /**
   * Adds `delta` requests (counted by one router isolate) to this key's fixed window of
   * `windowSeconds` — opened by the first add, like `take`'s — and returns the window's total.
   */
  add(delta: number, windowSeconds: number): number {
    const nowMs = Date.now();
    let sum = this.#sum ?? this.ctx.storage.kv.get<Window>('sum');
    if (!sum || nowMs - sum.startedAtMs >= windowSeconds * 1000) sum = { startedAtMs: nowMs, count: 0 };
    sum = { ...sum, count: sum.count + delta };
    this.#sum = sum;
    this.ctx.storage.kv.put('sum', sum);
    return sum.count;
  }
}
