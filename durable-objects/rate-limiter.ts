/**
 * RateLimiter: one Durable Object per budget key (`app:{appId}` for the per-app request budget,
 * `auth:{appId}:{route}:{ip}` for per-IP auth limits). A token bucket: `limit` tokens per
 * `windowSeconds`, refilled continuously.
 *
 * Storage layout (SQLite-backed synchronous KV, `ctx.storage.kv`):
 *   `bucket` → { tokens: number, updatedAtMs: number, limit: number, windowSeconds: number }
 * The state is kept in memory and written through, so an evicted object resumes its bucket.
 */
import { DurableObject } from 'cloudflare:workers';

interface Bucket {
  tokens: number;
  updatedAtMs: number;
  limit: number;
  windowSeconds: number;
}

/** The answer to one {@link RateLimiter.take}. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The budget (tokens per window). */
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a token is available again (0 when allowed). */
  retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

export class RateLimiter extends DurableObject {
  #bucket: Bucket | undefined;

  /**
   * Takes `cost` tokens from the bucket if it has them.
   * @param limit tokens per window (> 0)
   * @param windowSeconds window length in seconds (> 0)
   * @returns the decision; never throws for a valid budget.
   */
  take(limit: number, windowSeconds: number, cost = 1): RateLimitDecision {
    const nowMs = Date.now();
    const ratePerMs = limit / (windowSeconds * 1000);
    let bucket = this.#bucket ?? this.ctx.storage.kv.get<Bucket>('bucket');
    if (!bucket || bucket.limit !== limit || bucket.windowSeconds !== windowSeconds) {
      // A new or re-sized budget starts full (never more than it already had).
      bucket = { tokens: Math.min(limit, bucket?.tokens ?? limit), updatedAtMs: nowMs, limit, windowSeconds };
    }
    const tokens = Math.min(limit, bucket.tokens + (nowMs - bucket.updatedAtMs) * ratePerMs);
    const allowed = tokens >= cost;
    const after = allowed ? tokens - cost : tokens;
    this.#bucket = { tokens: after, updatedAtMs: nowMs, limit, windowSeconds };
    this.ctx.storage.kv.put('bucket', this.#bucket);
    return {
      allowed,
      limit,
      remaining: Math.floor(after),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - after) / ratePerMs / 1000)),
      resetSeconds: Math.ceil((limit - after) / ratePerMs / 1000),
    };
  }
}
