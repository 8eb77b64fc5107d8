/**
 * A per-isolate cache of the invocation path's one lookup — a live function and its app row by
 * (app, name) — so a warm `/fn/{name}` call makes no control-database round trip.
 *
 * Entries live `FUNCTION_CACHE_TTL_MS` (default 1 000 ms; 0 turns the cache off), counted from when
 * the lookup was *sent*, so an entry read before a write committed expires at most one TTL after it.
 * Every write this Worker makes to a function (deploy, delete, env, settings) forgets the entry in its
 * own isolate at once, then {@link settleFunctionWrite} holds the answer until the TTL has passed —
 * so a call that starts after a redeploy's answer runs the new version in every isolate (API.md §8.1,
 * "a redeploy takes effect on the next request"). Under `wrangler dev` each Worker is one isolate and
 * the platform sets `FUNCTION_CACHE_ONE_ISOLATE=true`: forgetting is enough and nothing waits.
 *
 * App-level changes made by the control Worker (app env vars, auth config) reach running functions
 * within the TTL; pause and deletion are enforced by the router's gate before the call gets here.
 */
import type { AppRow } from '../../shared/control-schema.ts';
import type { FunctionRow } from './records.ts';

/** What the invocation path needs: the live function and its app (null = no such live function). */
export type FunctionWithApp = { fn: FunctionRow; app: AppRow } | null;

/** The settings this cache reads from the Worker's env. */
export interface RecordCacheEnv {
  /** Entry lifetime in ms (default 1 000; 0 = no caching). */
  FUNCTION_CACHE_TTL_MS?: string;
  /** "true" when this Worker runs as a single isolate (local dev): writes need not wait out the TTL. */
  FUNCTION_CACHE_ONE_ISOLATE?: string;
}

interface Entry {
  value: FunctionWithApp;
  expiresAtMs: number;
}

const maxEntries = 10_000;
const defaultTtlMs = 1_000;

/** The configured TTL in ms (invalid or negative values → the default; 0 = off). */
export function functionCacheTtlMs(env: RecordCacheEnv): number {
  const raw = env.FUNCTION_CACHE_TTL_MS;
  if (raw === undefined || raw === '') return defaultTtlMs;
  const ms = Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? ms : defaultTtlMs;
}

/** Live functions with their apps by `${appId}/${name}`, each with a TTL. */
export class FunctionRecordCache {
  readonly #entries = new Map<string, Entry>();
  /** Bumped by every forget: a lookup sent before a forget must not cache what it read. */
  #generation = 0;

  /**
   * The cached lookup for (appId, name), else runs `load` and caches its answer (also "none") for
   * `ttlMs` from the moment `load` started — unless a forget happened meanwhile (the answer may
   * predate that write). Concurrent misses each load (no coalescing needed: the lookup is one indexed
   * read).
   */
  async get(appId: string, name: string, ttlMs: number, load: () => Promise<FunctionWithApp>, nowMs = Date.now): Promise<FunctionWithApp> {
    const key = `${appId}/${name}`;
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAtMs > nowMs()) return entry.value;
    if (entry) this.#entries.delete(key);
    const sentAtMs = nowMs();
    const generation = this.#generation;
    const value = await load();
    if (ttlMs > 0 && generation === this.#generation) {
      if (this.#entries.size >= maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, { value, expiresAtMs: sentAtMs + ttlMs });
    }
    return value;
  }

  /** Forgets (appId, name) in this isolate (call after any write to that function). */
  forget(appId: string, name: string): void {
    this.#generation++;
    this.#entries.delete(`${appId}/${name}`);
  }
}

/** The isolate's cache. */
export const functionRecordCache = new FunctionRecordCache();

/**
 * After a committed write to (appId, name): forgets it here and, unless this Worker is a single
 * isolate, waits one TTL so no other isolate can still serve what the write replaced when the caller
 * gets its answer. Out: the ms waited.
 */
export async function settleFunctionWrite(env: RecordCacheEnv, appId: string, name: string, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<number> {
  functionRecordCache.forget(appId, name);
  const ttl = functionCacheTtlMs(env);
  if (ttl === 0 || env.FUNCTION_CACHE_ONE_ISOLATE === 'true') return 0;
  await sleep(ttl);
  return ttl;
}
