/**
 * A per-isolate cache for the gate's lookups on the hot path: app rows by id and subdomain, signing
 * keys by (app, kid) and service keys by hash, each for `GATE_CACHE_TTL_MS` (default 1 000 ms; 0 turns
 * it off). Revoking a service key forgets it at once in the revoking isolate; every other isolate
 * stops accepting it within the TTL — the documented bound (≤ 1 s) on a revocation taking effect.
 *
 * Every change the control Worker makes to an app row invalidates it here at once; other isolates
 * (production runs many) see a change within the TTL. That bound is the documented propagation delay
 * of pause, access-mode, CORS and rate-limit changes for end-user and anonymous traffic.
 */
import type { JWK } from 'jose';
import type { GateAppRow } from './gate.ts';

/** A service key as the gate needs it (null = unknown, revoked or expired). */
export interface GateServiceKey {
  id: string;
  account_id: string;
  scopes: string[];
}

/** A signing key's public half and when it stopped signing (null while active). */
export interface GateSigningKey {
  jwk: JWK | null;
  retiredAt: string | Date | null;
}

interface Entry<T> {
  value: T;
  expiresAtMs: number;
}

/** A cache hit carries its value (which may be "no such row") and when it goes stale; a miss is undefined. */
export type Hit<T> = { value: T; expiresAtMs: number } | undefined;

const maxEntries = 10_000;

/** App rows and signing keys with a TTL each; a hit may be a remembered "no such row". */
export class GateCache {
  readonly #apps = new Map<string, Entry<GateAppRow | null>>();
  readonly #bySubdomain = new Map<string, Entry<GateAppRow | null>>();
  readonly #keys = new Map<string, Entry<GateSigningKey>>();
  readonly #serviceKeys = new Map<string, Entry<GateServiceKey | null>>();

  /** The cached service key with SHA-256 `hash` (null = no valid key), or undefined when absent or stale. */
  serviceKey(hash: string, nowMs = Date.now()): Hit<GateServiceKey | null> {
    return fresh(this.#serviceKeys, hash, nowMs);
  }

  /** Caches the service key of `hash` (null = none valid) for `ttlMs`; a TTL ≤ 0 caches nothing. */
  putServiceKey(hash: string, key: GateServiceKey | null, ttlMs: number): void {
    store(this.#serviceKeys, hash, key, ttlMs);
  }

  /** Forgets service key `keyId` (call when it is revoked). */
  invalidateServiceKey(keyId: string): void {
    for (const [hash, entry] of this.#serviceKeys) if (entry.value?.id === keyId) this.#serviceKeys.delete(hash);
  }

  /** The cached row of `appId` (null = known not to exist), or undefined when absent or stale. */
  app(appId: string, nowMs = Date.now()): Hit<GateAppRow | null> {
    return fresh(this.#apps, appId, nowMs);
  }

  /** The cached row of the app served on `subdomain` (null = none), or undefined when absent or stale. */
  appBySubdomain(subdomain: string, nowMs = Date.now()): Hit<GateAppRow | null> {
    return fresh(this.#bySubdomain, subdomain, nowMs);
  }

  /** Caches the row of the app on `subdomain` (null = none) for `ttlMs`; a TTL ≤ 0 caches nothing. */
  putAppBySubdomain(subdomain: string, row: GateAppRow | null, ttlMs: number): void {
    store(this.#bySubdomain, subdomain, row, ttlMs);
  }

  /** The cached signing key `kid` of `appId`, or undefined when absent or stale. */
  signingKey(appId: string, kid: string, nowMs = Date.now()): Hit<GateSigningKey> {
    return fresh(this.#keys, `${appId}:${kid}`, nowMs);
  }

  /** Caches `appId`'s row (null = does not exist) for `ttlMs`; a TTL ≤ 0 caches nothing. */
  putApp(appId: string, row: GateAppRow | null, ttlMs: number): void {
    store(this.#apps, appId, row, ttlMs);
  }

  /** Caches signing key `kid` of `appId` for `ttlMs`; a TTL ≤ 0 caches nothing. */
  putSigningKey(appId: string, kid: string, key: GateSigningKey, ttlMs: number): void {
    store(this.#keys, `${appId}:${kid}`, key, ttlMs);
  }

  /** Forgets an app's row, under its id and its subdomain (call after any change to it). */
  invalidateApp(appId: string): void {
    const row = this.#apps.get(appId)?.value;
    this.#apps.delete(appId);
    if (row) this.#bySubdomain.delete(row.subdomain);
    for (const [subdomain, entry] of this.#bySubdomain) if (entry.value?.id === appId) this.#bySubdomain.delete(subdomain);
  }
}

function fresh<T>(map: Map<string, Entry<T>>, key: string, nowMs: number): Hit<T> {
  const entry = map.get(key);
  if (!entry) return undefined;
  if (entry.expiresAtMs <= nowMs) {
    map.delete(key);
    return undefined;
  }
  return { value: entry.value, expiresAtMs: entry.expiresAtMs };
}

function store<T>(map: Map<string, Entry<T>>, key: string, value: T, ttlMs: number): void {
  if (ttlMs <= 0) return;
  // Unknown app ids are cached too (so probing them stays cheap); bound the memory either way.
  if (map.size >= maxEntries) map.delete(map.keys().next().value!);
  map.set(key, { value, expiresAtMs: Date.now() + ttlMs });
}

/** The isolate's cache. */
export const gateCache = new GateCache();

/** Forgets service key `keyId` in this isolate; revoking a key calls it. */
export function invalidateServiceKeyGate(keyId: string): void {
  gateCache.invalidateServiceKey(keyId);
}

/** Forgets `appId`'s cached row in this isolate; every control change to an app row calls it. */
export function invalidateAppGate(appId: string): void {
  gateCache.invalidateApp(appId);
}
