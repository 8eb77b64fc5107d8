/**
 * Service keys (API.md §1.2, §2 /api-keys): minted once, stored as SHA-256, listed by prefix,
 * revoked immediately (the gate looks keys up on every request; nothing caches them).
 */
import { invalidateServiceKeyGate } from './gate-cache.ts';
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { apiKeys, apps } from '../../shared/control-schema.ts';
import { ApiError } from '../../shared/errors.ts';
import { mintServiceKey } from '../../shared/keys.ts';
import type { ServiceKeyPrincipal } from '../../shared/principal.ts';
import { createApiKeyBody, type CreateApiKeyBody } from '../../shared/schemas/api-keys.ts';
import type { KeyScope } from '../../shared/schemas/enums.ts';
import { keyManagesApp } from '../authz.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';

export { createApiKeyBody, type CreateApiKeyBody };

/** Response of POST /api-keys (the SDK's `{id, key, name, created_at}` fields included). */
export interface CreatedApiKey {
  key: string;
  keyId: string;
  id: string;
  prefix: string;
  name: string;
  scopes: string[];
  key_scope: KeyScope;
  created_at: string;
}

function scopesFor(body: CreateApiKeyBody): { scopes: string[]; keyScope: KeyScope; appIds: string[] } {
  if (body.scopes) {
    const appIds = body.scopes.filter((s) => s.startsWith('app:')).map((s) => s.slice(4));
    return { scopes: body.scopes, keyScope: body.scopes.includes('*') ? 'account' : 'app', appIds };
  }
  const extra = body.additional_scopes ?? [];
  if (body.key_scope === 'app') return { scopes: [`app:${body.target_app_id}`, ...extra], keyScope: 'app', appIds: [body.target_app_id!] };
  return { scopes: ['*', ...extra], keyScope: 'account', appIds: [] };
}

/**
 * Creates a key for the caller's account. Only account keys may mint keys.
 * @throws ApiError FEATURE_NOT_AVAILABLE (substrate keys), APP_NOT_FOUND (target app not owned).
 */
export async function createApiKey(env: Env, caller: ServiceKeyPrincipal, body: CreateApiKeyBody): Promise<CreatedApiKey> {
  if (body.scope === 'substrate') {
    throw new ApiError('FEATURE_NOT_AVAILABLE', 'Substrate keys (bb_sub_) are not available on this deployment.');
  }
  const { scopes, keyScope, appIds } = scopesFor(body);
  const db = controlDb(env);
  if (appIds.length > 0) {
    const owned = await db.select({ id: apps.id, account_id: apps.account_id }).from(apps).where(inArray(apps.id, appIds));
    for (const appId of appIds) {
      const app = owned.find((a) => a.id === appId);
      if (!app || !keyManagesApp(caller, app)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
    }
  }
  const minted = await mintServiceKey();
  const [row] = await db.insert(apiKeys)
    .values({ account_id: caller.accountId, name: body.name, key_prefix: minted.prefix, key_hash: minted.hash, key_scope: keyScope, target_app_id: appIds[0] ?? null, scopes })
    .returning({ id: apiKeys.id, created_at: apiKeys.created_at });
  return {
    key: minted.plaintext,
    keyId: row!.id,
    id: row!.id,
    prefix: minted.prefix,
    name: body.name,
    scopes,
    key_scope: keyScope,
    created_at: row!.created_at.toISOString(),
  };
}

/** Lists the account's keys (never the key itself): prefix, name, scopes, last use. */
export async function listApiKeys(env: Env, caller: ServiceKeyPrincipal, scope?: string) {
  const rows = await controlDb(env)
    .select({
      id: apiKeys.id, key_prefix: apiKeys.key_prefix, name: apiKeys.name, scopes: apiKeys.scopes, key_scope: apiKeys.key_scope,
      target_app_id: apiKeys.target_app_id, last_used_at: apiKeys.last_used_at, expires_at: apiKeys.expires_at, created_at: apiKeys.created_at,
    })
    .from(apiKeys)
    .where(and(eq(apiKeys.account_id, caller.accountId), isNull(apiKeys.revoked_at)))
    .orderBy(desc(apiKeys.created_at));
  const keys = rows
    .filter((r) => scope !== 'me' || r.id === caller.keyId)
    .map((r) => ({ ...r, scope: 'app' }));
  return { keys };
}

/**
 * Revokes one of the account's keys: it stops working on the next request to this isolate and
 * everywhere within the gate cache's TTL (1 s).
 * @throws ApiError RESOURCE_NOT_FOUND when the key is not the account's (or already revoked).
 */
export async function revokeApiKey(env: Env, caller: ServiceKeyPrincipal, keyId: string): Promise<{ revoked: true }> {
  // Only a well-formed UUID reaches Postgres: anything else would fail its uuid cast (a 500).
  if (!z.guid().safeParse(keyId).success) throw new ApiError('RESOURCE_NOT_FOUND', `API key ${keyId} not found.`);
  const rows = await controlDb(env).update(apiKeys)
    .set({ revoked_at: sql`now()` })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.account_id, caller.accountId), isNull(apiKeys.revoked_at)))
    .returning({ id: apiKeys.id });
  if (rows.length === 0) throw new ApiError('RESOURCE_NOT_FOUND', `API key ${keyId} not found.`);
  // Other isolates stop accepting it within the gate cache's TTL (≤ 1 s, gate-cache.ts).
  invalidateServiceKeyGate(keyId);
  return { revoked: true };
}
