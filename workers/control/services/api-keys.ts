/**
 * Service keys (API.md §1.2, §2 /api-keys): minted once, stored as SHA-256, listed by prefix,
 * revoked immediately (the gate looks keys up on every request; nothing caches them).
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { mintServiceKey } from '../../shared/keys.ts';
import type { ServiceKeyPrincipal } from '../../shared/principal.ts';
import { appIdPattern } from '../../shared/validation.ts';
import { keyManagesApp } from '../authz.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';

const extraScope = z.enum(['ai:gateway', 'substrate']);

/** Body of POST /api-keys. `scopes` is the legacy form and may not be mixed with the new fields. */
export const createApiKeyBody = z.object({
  name: z.string().trim().min(1).max(100),
  key_scope: z.enum(['account', 'app']).optional(),
  target_app_id: z.string().regex(appIdPattern, 'must be an app id (app_ + 12 characters)').optional(),
  additional_scopes: z.array(extraScope).max(2).optional(),
  scopes: z.array(z.string().regex(/^(\*|app:app_[0-9a-z]{12}|ai:gateway|substrate)$/, 'must be "*", "app:{app_id}", "ai:gateway" or "substrate"')).min(1).optional(),
  scope: z.enum(['app', 'substrate', 'both']).optional(),
  organization_id: z.string().optional(),
}).strict().superRefine((body, ctx) => {
  if (body.scopes && (body.key_scope || body.additional_scopes)) {
    ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'legacy "scopes" cannot be combined with key_scope or additional_scopes' });
  }
  if (body.key_scope === 'app' && !body.target_app_id) {
    ctx.addIssue({ code: 'custom', path: ['target_app_id'], message: 'required when key_scope is "app"' });
  }
  if (body.key_scope !== 'app' && body.target_app_id && !body.scopes) {
    ctx.addIssue({ code: 'custom', path: ['target_app_id'], message: 'only valid with key_scope "app"' });
  }
});
export type CreateApiKeyBody = z.infer<typeof createApiKeyBody>;

/** Response of POST /api-keys (the SDK's `{id, key, name, created_at}` fields included). */
export interface CreatedApiKey {
  key: string;
  keyId: string;
  id: string;
  prefix: string;
  name: string;
  scopes: string[];
  key_scope: 'account' | 'app';
  created_at: string;
}

function scopesFor(body: CreateApiKeyBody): { scopes: string[]; keyScope: 'account' | 'app'; appIds: string[] } {
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
  const sql = controlSql(env);
  if (appIds.length > 0) {
    const owned = await sql.query('SELECT id, account_id FROM apps WHERE id = ANY($1)', [appIds]);
    for (const appId of appIds) {
      const app = owned.find((a) => a.id === appId) as { id: string; account_id: string } | undefined;
      if (!app || !keyManagesApp(caller, app)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
    }
  }
  const minted = await mintServiceKey();
  const [row] = await sql.query(
    `INSERT INTO api_keys (account_id, name, key_prefix, key_hash, key_scope, target_app_id, scopes)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
    [caller.accountId, body.name, minted.prefix, minted.hash, keyScope, appIds[0] ?? null, scopes],
  );
  const id = String(row!.id);
  return {
    key: minted.plaintext,
    keyId: id,
    id,
    prefix: minted.prefix,
    name: body.name,
    scopes,
    key_scope: keyScope,
    created_at: new Date(row!.created_at as string).toISOString(),
  };
}

/** Lists the account's keys (never the key itself): prefix, name, scopes, last use. */
export async function listApiKeys(env: Env, caller: ServiceKeyPrincipal, scope?: string) {
  const rows = await controlSql(env).query(
    `SELECT id, key_prefix, name, scopes, key_scope, target_app_id, last_used_at, expires_at, created_at, revoked_at
       FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC`,
    [caller.accountId],
  );
  const keys = rows
    .filter((r) => scope !== 'me' || r.id === caller.keyId)
    .map((r) => ({
      id: r.id,
      key_prefix: r.key_prefix,
      name: r.name,
      scopes: r.scopes,
      scope: 'app',
      key_scope: r.key_scope,
      target_app_id: r.target_app_id,
      last_used_at: r.last_used_at,
      expires_at: r.expires_at,
      created_at: r.created_at,
    }));
  return { keys };
}

/**
 * Revokes one of the account's keys; it stops working on the next request.
 * @throws ApiError RESOURCE_NOT_FOUND when the key is not the account's (or already revoked).
 */
export async function revokeApiKey(env: Env, caller: ServiceKeyPrincipal, keyId: string): Promise<{ revoked: true }> {
  // Only a well-formed UUID reaches Postgres: anything else would fail its uuid cast (a 500).
  if (!z.guid().safeParse(keyId).success) throw new ApiError('RESOURCE_NOT_FOUND', `API key ${keyId} not found.`);
  const rows = await controlSql(env).query(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING id',
    [keyId, caller.accountId],
  );
  if (rows.length === 0) throw new ApiError('RESOURCE_NOT_FOUND', `API key ${keyId} not found.`);
  return { revoked: true };
}
