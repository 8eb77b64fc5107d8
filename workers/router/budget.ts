/**
 * The request budget of `/v1/{app}/*` (API.md §1.5), decided in the isolate without waiting on a
 * Durable Object, per principal inside an app plus an app-wide ceiling:
 *
 * - each principal has its own fixed one-minute window of the app's `rateLimitPerMinute`: anonymous
 *   callers per client IP (IPv6 by /56, {@link rateLimitSubject}), end users per user id, service
 *   keys per key — so a flood of anonymous requests cannot spend the owner's or signed-in users' budget;
 * - the app as a whole has a ceiling of `ceilingFactor ×` that budget, so many principals together
 *   still cannot run an app without bound.
 *
 * A window opens at a key's first request and lasts a minute (a fixed window, as the reference's
 * @fastify/rate-limit counts). Each isolate decides from its own count plus the last global count it
 * learned; in the background
 * (`waitUntil`) it adds what it counted to the key's `RateLimiter` Durable Object at most once per
 * `flushIntervalMs` per key and learns the global count back. Why not the Workers Rate Limiting
 * binding: its limit is fixed in wrangler config, while each app has its own budget, and it cannot
 * say how many requests remain. Consequence, stated in the docs: in one isolate (the local platform)
 * counting is exact; across isolates a key can overshoot by what the others counted since their last
 * reconciliation (≤ 1 s of traffic), and `x-ratelimit-remaining` is this isolate's view.
 */
import { rateLimitSubject } from '../shared/client-ip.ts';
import type { Principal } from '../shared/principal.ts';

/** One window length, in milliseconds. */
export const budgetWindowMs = 60_000;

/** Where the isolates' counts meet: `add` returns the key's global count in that window after adding. */
export interface BudgetStore {
  add(key: string, delta: number): Promise<number>;
}

/** One budget a request is counted against. */
export interface BudgetKey {
  key: string;
  /** Requests per window. */
  limit: number;
  scope: 'principal' | 'app';
}

/** The outcome of {@link RequestBudget.take}, for the `x-ratelimit-*` headers and a 429. */
export interface BudgetDecision {
  allowed: boolean;
  /** The budget that decided: the refusing one, else the one with the fewest requests left. */
  scope: 'principal' | 'app';
  limit: number;
  remaining: number;
  /** Seconds until the window ends (≥ 1). */
  resetSeconds: number;
}

interface Entry {
  /** When this isolate's window for the key opened (epoch ms). */
  startMs: number;
  /** The global count last learned from the store (includes what this isolate flushed). */
  known: number;
  /** Counted here, being added to the store now. */
  inFlight: number;
  /** Counted here, not yet sent. */
  local: number;
  lastFlushMs: number;
}

/** The budget keys of a request: its principal's, then the app's ceiling. */
export function budgetKeys(appId: string, principal: Principal, clientIp: string | null, perMinute: number, ceilingFactor: number): BudgetKey[] {
  const who = principal.kind === 'service_key' ? `key:${principal.keyId}`
    : principal.kind === 'end_user' ? `user:${principal.userId}`
    : `ip:${rateLimitSubject(clientIp)}`;
  return [
    { key: `app:${appId}:${who}`, limit: perMinute, scope: 'principal' },
    { key: `app:${appId}`, limit: perMinute * ceilingFactor, scope: 'app' },
  ];
}

/** Per-isolate counters (see the top of this file). One instance lives for the isolate's lifetime. */
export class RequestBudget {
  readonly #entries = new Map<string, Entry>();
  readonly #flushIntervalMs: number;
  readonly #maxEntries: number;

  /** `flushIntervalMs`: how often a key's count is reconciled (default 1000); `maxEntries` bounds memory. */
  constructor(options: { flushIntervalMs?: number; maxEntries?: number } = {}) {
    this.#flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.#maxEntries = options.maxEntries ?? 50_000;
  }

  /**
   * Counts one request against every key, or refuses it (counting nothing) when any key is spent.
   * Reconciliation with `store` is handed to `background` (the request's `waitUntil`); it never
   * delays the answer, and a store failure only delays reconciliation.
   */
  take(keys: readonly BudgetKey[], nowMs: number, store: BudgetStore, background: (work: Promise<unknown>) => void): BudgetDecision {
    const entries = keys.map((k) => this.#entry(k.key, nowMs));
    const resetSeconds = (entry: Entry) => Math.max(1, Math.ceil((entry.startMs + budgetWindowMs - nowMs) / 1000));
    const counts = entries.map((e) => e.known + e.inFlight + e.local);
    const refused = keys.findIndex((k, i) => counts[i]! >= k.limit);
    if (refused !== -1) return { allowed: false, scope: keys[refused]!.scope, limit: keys[refused]!.limit, remaining: 0, resetSeconds: resetSeconds(entries[refused]!) };
    let tightest = 0;
    keys.forEach((k, i) => {
      entries[i]!.local += 1;
      if (k.limit - counts[i]! < keys[tightest]!.limit - counts[tightest]!) tightest = i;
    });
    keys.forEach((k, i) => this.#maybeFlush(k.key, entries[i]!, nowMs, store, background));
    const top = keys[tightest]!;
    return { allowed: true, scope: top.scope, limit: top.limit, remaining: Math.max(0, top.limit - counts[tightest]! - 1), resetSeconds: resetSeconds(entries[tightest]!) };
  }

  #entry(key: string, nowMs: number): Entry {
    let entry = this.#entries.get(key);
    if (!entry || nowMs - entry.startMs >= budgetWindowMs) {
      if (!entry && this.#entries.size >= this.#maxEntries) this.#evict(nowMs);
      // A new window: what is still in flight belongs to the old one; the first request flushes soon.
      entry = { startMs: nowMs, known: 0, inFlight: 0, local: 0, lastFlushMs: nowMs - this.#flushIntervalMs };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Drops entries whose window is over; if all are current, the oldest inserted half. */
  #evict(nowMs: number): void {
    for (const [key, entry] of this.#entries) if (nowMs - entry.startMs >= budgetWindowMs) this.#entries.delete(key);
    if (this.#entries.size < this.#maxEntries) return;
    let drop = Math.ceil(this.#entries.size / 2);
    for (const key of this.#entries.keys()) {
      if (drop-- <= 0) break;
      this.#entries.delete(key);
    }
  }

  #maybeFlush(key: string, entry: Entry, nowMs: number, store: BudgetStore, background: (work: Promise<unknown>) => void): void {
    if (entry.inFlight > 0 || entry.local === 0 || nowMs - entry.lastFlushMs < this.#flushIntervalMs) return;
    const delta = entry.local;
    entry.local = 0;
    entry.inFlight = delta;
    entry.lastFlushMs = nowMs;
    background(store.add(key, delta).then(
      (global) => {
        entry.inFlight = 0;
        entry.known = Math.max(entry.known + delta, global);
      },
      (error: unknown) => {
        // Counted here all the same; the next flush carries it.
        entry.inFlight = 0;
        entry.local += delta;
        console.error(`[budget] reconciling ${key} failed: ${String(error)}`);
      },
    ));
  }
}
