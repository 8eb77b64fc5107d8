/**
 * Request-role resolution (workers/data/roles.ts, API.md §1.2) and the per-isolate table cache
 * (workers/data/table-cache.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AppGate } from '../workers/shared/contracts.ts';
import type { CatalogTable } from '../workers/shared/catalog.ts';
import { ApiError } from '../workers/shared/errors.ts';
import type { Principal } from '../workers/shared/principal.ts';
import { resolveCaller, type RoleRequest } from '../workers/data/roles.ts';
import { TableCache } from '../workers/data/table-cache.ts';

const appId = 'app_aaaaaaaaaaaa';
const userId = '11111111-2222-4333-8444-555555555555';
const gate: AppGate = {
  id: appId, accountId: 'acct-1', subdomain: 'demo', name: 'x', provisioningStatus: 'ready', paused: false, pausedReason: null,
  allowedOrigins: ['*'], accessMode: 'public', rateLimitPerMinute: 100, cors: { allowedMethods: [], allowedHeaders: [], allowCredentials: true },
};
const service: Principal = { kind: 'service_key', keyId: 'k', accountId: 'acct-1', scopes: ['*'] };
const endUser: Principal = { kind: 'end_user', appId, userId, email: null, emailVerified: false };
const anonymous: Principal = { kind: 'anonymous' };

function resolve(overrides: Partial<RoleRequest>) {
  return resolveCaller({ appId, principal: anonymous, app: gate, asRole: null, asUser: null, ...overrides });
}

function code(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('resolveCaller', () => {
  it('maps each caller to its role', () => {
    expect(resolve({})).toEqual({ appId, role: 'anon', userId: null });
    expect(resolve({ principal: endUser })).toEqual({ appId, role: 'user', userId });
    expect(resolve({ principal: service })).toEqual({ appId, role: 'service', userId: null });
    expect(resolve({ principal: { ...service, scopes: [`app:${appId}`] } })).toMatchObject({ role: 'service' });
  });

  it('lets service keys simulate anon and users', () => {
    expect(resolve({ principal: service, asRole: 'anon' })).toEqual({ appId, role: 'anon', userId: null });
    expect(resolve({ principal: service, asRole: 'user', asUser: userId.toUpperCase() })).toEqual({ appId, role: 'user', userId });
    expect(resolve({ principal: service, asUser: userId })).toEqual({ appId, role: 'user', userId });
    expect(resolve({ principal: service, asRole: ' ', asUser: '' })).toMatchObject({ role: 'service' });
  });

  const refused: [string, Partial<RoleRequest>, string][] = [
    ['anonymous simulating', { asRole: 'anon' }, 'AUTH_IMPERSONATION_FORBIDDEN'],
    ['anonymous naming a user', { asUser: userId }, 'AUTH_IMPERSONATION_FORBIDDEN'],
    ['end user simulating', { principal: endUser, asRole: 'user', asUser: userId }, 'AUTH_IMPERSONATION_FORBIDDEN'],
    ['unknown role', { principal: service, asRole: 'service' }, 'VALIDATION_INVALID_SCHEMA'],
    ['role admin', { principal: service, asRole: 'admin' }, 'VALIDATION_INVALID_SCHEMA'],
    ['user without id', { principal: service, asRole: 'user' }, 'VALIDATION_MISSING_FIELD'],
    ['user id not a uuid', { principal: service, asRole: 'user', asUser: "1' OR '1'='1" }, 'VALIDATION_INVALID_SCHEMA'],
    ['anon with a user id', { principal: service, asRole: 'anon', asUser: userId }, 'VALIDATION_INVALID_SCHEMA'],
    ['token of another app', { principal: { ...endUser, appId: 'app_bbbbbbbbbbbb' } }, 'AUTH_INVALID_END_USER_JWT'],
    ['key of another account', { principal: { ...service, accountId: 'acct-2' } }, 'APP_NOT_FOUND'],
    ['key scoped to another app', { principal: { ...service, scopes: ['app:app_bbbbbbbbbbbb'] } }, 'APP_NOT_FOUND'],
    ['no app', { app: null }, 'APP_NOT_FOUND'],
    ['invalid bearer', { principal: { kind: 'invalid', code: 'AUTH_END_USER_JWT_EXPIRED', message: 'expired' } }, 'AUTH_END_USER_JWT_EXPIRED'],
    ['provisioning app', { app: { ...gate, provisioningStatus: 'provisioning' } }, 'APP_NOT_READY'],
    ['anonymous on an authenticated app', { app: { ...gate, accessMode: 'authenticated' } }, 'AUTH_REQUIRED'],
    ['service simulating anon on an authenticated app', { principal: service, asRole: 'anon', app: { ...gate, accessMode: 'authenticated' } }, 'AUTH_REQUIRED'],
  ];
  for (const [name, overrides, expected] of refused) {
    it(`${name} → ${expected}`, () => expect(code(() => resolve(overrides))).toBe(expected));
  }

  it('serves users and service keys on an authenticated app', () => {
    const app = { ...gate, accessMode: 'authenticated' as const };
    expect(resolve({ principal: endUser, app })).toMatchObject({ role: 'user' });
    expect(resolve({ principal: service, app })).toMatchObject({ role: 'service' });
    expect(resolve({ principal: service, asUser: userId, app })).toMatchObject({ role: 'user' });
  });
});

describe('TableCache', () => {
  function table(name: string, columns: string[] = ['id']): CatalogTable {
    return {
      name, primaryKey: ['id'], rlsEnabled: false, rlsForced: false,
      columns: columns.map((c) => ({ name: c, type: 'text', udt: 'text', nullable: true, default: null, identity: '', generated: '', isArray: false })),
    };
  }

  function setup() {
    let nowMs = 0;
    const state = { loads: 0, tables: [table('a')] };
    const cache = new TableCache<null>(async () => {
      state.loads++;
      return new Map(state.tables.map((t) => [t.name, t]));
    }, { ttlMs: 5_000, now: () => nowMs });
    return { cache, state, advance: (ms: number) => (nowMs += ms) };
  }

  it('serves from memory within the TTL and reloads after it', async () => {
    const { cache, state, advance } = setup();
    await cache.table(appId, 'a', null);
    await cache.table(appId, 'a', null);
    expect(state.loads).toBe(1);
    advance(5_001);
    await cache.table(appId, 'a', null);
    expect(state.loads).toBe(2);
  });

  it('reloads once on an unknown table, so a table created a moment ago is found', async () => {
    const { cache, state } = setup();
    await cache.table(appId, 'a', null);
    state.tables.push(table('b'));
    expect(await cache.table(appId, 'b', null)).toMatchObject({ name: 'b' });
    expect(state.loads).toBe(2);
    expect(await cache.table(appId, 'nope', null)).toBeUndefined();
    expect(state.loads).toBe(3);
  });

  it('reloads once when the request names a column the snapshot lacks', async () => {
    const { cache, state } = setup();
    await cache.table(appId, 'a', null);
    state.tables = [table('a', ['id', 'added'])];
    const found = await cache.table(appId, 'a', null, (t) => !t.columns.some((c) => c.name === 'added'));
    expect(found?.columns.map((c) => c.name)).toEqual(['id', 'added']);
    expect(state.loads).toBe(2);
  });

  it('does not reload twice for a miss on a snapshot it just loaded', async () => {
    const { cache, state } = setup();
    expect(await cache.table(appId, 'nope', null)).toBeUndefined();
    expect(state.loads).toBe(1);
  });

  it('shares one load between concurrent lookups', async () => {
    const { cache, state } = setup();
    await Promise.all([cache.table(appId, 'a', null), cache.table(appId, 'a', null), cache.table(appId, 'a', null)]);
    expect(state.loads).toBe(1);
  });

  it('forgets an app on invalidate', async () => {
    const { cache, state } = setup();
    await cache.table(appId, 'a', null);
    cache.invalidate(appId);
    await cache.table(appId, 'a', null);
    expect(state.loads).toBe(2);
  });
});
