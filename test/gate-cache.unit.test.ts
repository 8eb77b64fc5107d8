/** The gate cache: entries expire after their TTL, invalidation is immediate, TTL 0 caches nothing. */
import { describe, expect, it } from 'vitest';
import { GateCache } from '../workers/control/services/gate-cache.ts';
import type { GateAppRow } from '../workers/control/services/gate.ts';

const row: GateAppRow = {
  id: 'app_abcdefghijkl', account_id: 'a', name: 'n', provisioning_status: 'ready', paused: false, paused_reason: null,
  allowed_origins: ['*'], access_mode: 'public', rate_limit_per_minute: null, anon_key: 'k', subdomain: 'a', bootstrap_version: 3,
  cors_allowed_methods: [], cors_allowed_headers: [], cors_allow_credentials: true,
};

describe('GateCache', () => {
  it('serves an app row until its TTL passes', () => {
    const cache = new GateCache();
    cache.putApp(row.id, row, 1_000);
    expect(cache.app(row.id)).toEqual({ value: row, expiresAtMs: expect.any(Number) });
    expect(cache.app(row.id, Date.now() + 1_001)).toBeUndefined();
  });

  it('remembers that an app does not exist, as a hit with null', () => {
    const cache = new GateCache();
    cache.putApp('app_000000000000', null, 1_000);
    expect(cache.app('app_000000000000')).toEqual({ value: null, expiresAtMs: expect.any(Number) });
  });

  it('forgets an app at once when invalidated', () => {
    const cache = new GateCache();
    cache.putApp(row.id, row, 60_000);
    cache.invalidateApp(row.id);
    expect(cache.app(row.id)).toBeUndefined();
  });

  it('keys signing keys by app and kid', () => {
    const cache = new GateCache();
    cache.putSigningKey(row.id, 'kid1', { jwk: { kty: 'RSA' }, retiredAt: null }, 1_000);
    expect(cache.signingKey(row.id, 'kid1')).toEqual({ value: { jwk: { kty: 'RSA' }, retiredAt: null }, expiresAtMs: expect.any(Number) });
    expect(cache.signingKey('app_zzzzzzzzzzzz', 'kid1')).toBeUndefined();
  });

  it('serves a service key by hash for the TTL (a revocation elsewhere takes effect within it) and forgets it at once when revoked here', () => {
    const cache = new GateCache();
    const key = { id: 'k1', account_id: 'a', scopes: ['*'] };
    cache.putServiceKey('hash1', key, 1_000);
    cache.putServiceKey('hash2', null, 1_000);
    expect(cache.serviceKey('hash1')).toEqual({ value: key, expiresAtMs: expect.any(Number) });
    expect(cache.serviceKey('hash2')).toEqual({ value: null, expiresAtMs: expect.any(Number) });
    expect(cache.serviceKey('hash1', Date.now() + 1_001)).toBeUndefined();
    cache.putServiceKey('hash1', key, 60_000);
    cache.invalidateServiceKey('k1');
    expect(cache.serviceKey('hash1')).toBeUndefined();
  });

  it('caches nothing with a TTL of 0', () => {
    const cache = new GateCache();
    cache.putApp(row.id, row, 0);
    expect(cache.app(row.id)).toBeUndefined();
  });
});
