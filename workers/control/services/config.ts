/**
 * App config changes (API.md §2 PATCH /v1/{app_id}/config/*). Each is one UPDATE, so a change is
 * all-or-nothing, and each is audited by its route. The bodies are shared with the MCP tools
 * (workers/shared/schemas/config.ts).
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { appRecord, apps, functions, type AppRow } from '../../shared/control-schema.ts';
import { encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import {
  accessModeBody, authHooksBody, corsBody, envBody, jwtBody, pauseBody, storageBody, storageLimitCapBytes,
  type AccessModeBody, type AuthHooksBody, type CorsBody, type EnvBody, type JwtBody, type PauseBody, type StorageBody,
} from '../../shared/schemas/config.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { invalidateAppGate } from './gate-cache.ts';

export { accessModeBody, authHooksBody, corsBody, envBody, jwtBody, pauseBody, storageBody, storageLimitCapBytes };

type AppChange = PgUpdateSetSource<typeof apps>;

/**
 * Applies `change` to one app row (and bumps `updated_at`).
 * @throws ApiError APP_NOT_FOUND when the app was deleted between the ownership check and now.
 */
async function update(env: Env, appId: string, change: AppChange): Promise<AppRow> {
  const [row] = await controlDb(env).update(apps).set({ ...change, updated_at: sql`now()` }).where(eq(apps.id, appId)).returning();
  invalidateAppGate(appId);
  if (!row) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return appRecord(row);
}

/**
 * PATCH config/cors: replaces the fields sent (`allowed_origins` or `allowedOrigins`, the
 * methods and headers a preflight allows, whether listed origins get credentials); duplicates are
 * dropped. Out: `{ message, app_id, allowed_origins, allowed_methods, allowed_headers, allow_credentials }`.
 */
export async function updateCors(env: Env, app: AppRow, body: CorsBody) {
  const origins = body.allowed_origins ?? body.allowedOrigins;
  const change: AppChange = {};
  if (origins) change.allowed_origins = [...new Set(origins)];
  if (body.allowedMethods) change.cors_allowed_methods = [...new Set(body.allowedMethods)];
  if (body.allowedHeaders) change.cors_allowed_headers = [...new Set(body.allowedHeaders)];
  if (body.allowCredentials !== undefined) change.cors_allow_credentials = body.allowCredentials;
  const row = await update(env, app.id, change);
  return {
    message: 'CORS settings updated',
    app_id: row.id,
    allowed_origins: row.allowed_origins,
    allowed_methods: row.cors_allowed_methods,
    allowed_headers: row.cors_allowed_headers,
    allow_credentials: row.cors_allow_credentials,
  };
}

/** PATCH config/jwt: merges into `jwt_config`; tokens already issued keep their TTL. Out: `{ message, app_id, jwt_config }`. */
export async function updateJwt(env: Env, app: AppRow, body: JwtBody) {
  const row = await update(env, app.id, { jwt_config: sql`${apps.jwt_config} || ${JSON.stringify(body)}::jsonb` });
  return { message: 'JWT settings updated; they apply to tokens issued from now on', app_id: row.id, jwt_config: row.jwt_config };
}

/** PATCH config/storage: merges into `storage_config`. Out: `{ message, app_id, storage_config }`. */
export async function updateStorage(env: Env, app: AppRow, body: StorageBody) {
  const row = await update(env, app.id, { storage_config: sql`${apps.storage_config} || ${JSON.stringify(body)}::jsonb` });
  return { message: 'Storage settings updated', app_id: row.id, storage_config: row.storage_config };
}

/** PATCH config/pause: pauses (keeping the first `paused_at`) or resumes. Out: `{ message, app_id, paused, paused_at, paused_reason }`. */
export async function updatePause(env: Env, app: AppRow, body: PauseBody) {
  const row = body.paused
    ? await update(env, app.id, { paused: true, paused_at: sql`COALESCE(${apps.paused_at}, now())`, paused_reason: body.reason ?? null })
    : await update(env, app.id, { paused: false, paused_at: null, paused_reason: null });
  return {
    message: row.paused ? 'App paused: data plane requests now get 503 APP_PAUSED' : 'App resumed',
    app_id: row.id,
    paused: row.paused,
    paused_at: row.paused_at,
    paused_reason: row.paused_reason,
  };
}

/** PATCH config/access-mode. Out: `{ message, app_id, access_mode }`. */
export async function updateAccessMode(env: Env, app: AppRow, body: AccessModeBody) {
  const row = await update(env, app.id, { access_mode: body.access_mode });
  return { message: `Access mode set to ${row.access_mode}`, app_id: row.id, access_mode: row.access_mode };
}

/** GET /v1/{app}/env: the names only; values are never returned. */
export function envKeys(app: AppRow) {
  return { keys: Object.keys(app.env_vars).sort(), updatedAt: app.env_updated_at };
}

/** PATCH /v1/{app}/env: merges (null deletes); values are sealed with AES-GCM before they are stored. */
export async function updateEnv(env: Env, app: AppRow, body: EnvBody) {
  const sealed: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(body.envVars)) {
    sealed[key] = value === null ? null : await encryptSecret(value, env.PLATFORM_MASTER_KEY);
  }
  const removed = Object.keys(sealed).filter((k) => sealed[k] === null);
  const added = Object.fromEntries(Object.entries(sealed).filter(([, v]) => v !== null));
  await update(env, app.id, {
    env_vars: sql`(${apps.env_vars} - ${sql.param(removed)}::text[]) || ${JSON.stringify(added)}::jsonb`,
    env_updated_at: sql`now()`,
  });
  return { updatedKeys: Object.keys(body.envVars).sort(), invalidated: { functions: [] as string[], count: 0 } };
}

/**
 * Sets (or clears, with null) the app's post-auth hook function (API.md §6, PATCH config/auth-hooks).
 * @throws ApiError RESOURCE_NOT_FOUND when no live function of that name exists in the app
 */
export async function updateAuthHooks(env: Env, app: AppRow, body: AuthHooksBody) {
  const name = body.post_auth_function;
  if (name !== null) {
    const [fn] = await controlDb(env).select({ id: functions.id }).from(functions)
      .where(and(eq(functions.app_id, app.id), eq(functions.name, name), isNull(functions.deleted_at)));
    if (!fn) {
      throw new ApiError('RESOURCE_NOT_FOUND', `Function "${name}" not found.`, {
        remediation: 'Deploy the function first (POST /v1/{app_id}/functions or deploy_function), then name it here.',
      });
    }
  }
  const row = await update(env, app.id, { auth_hook_function: name });
  return {
    message: name ? `Function "${name}" now runs after each signup and sign-in` : 'Auth hook removed',
    app_id: row.id,
    post_auth_function: row.auth_hook_function,
  };
}
