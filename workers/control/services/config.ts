/**
 * App config changes (API.md §2 PATCH /v1/{app_id}/config/*). Each is one UPDATE, so a change is
 * all-or-nothing, and each is audited.
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { encryptSecret } from '../../shared/crypto.ts';
import { controlSql } from '../db.ts';
import type { AppRow } from './apps.ts';
import type { Env } from '../env.ts';
import { invalidateAppGate } from './gate-cache.ts';

/** A CORS origin: `*` or an http(s) origin (a trailing slash is dropped; paths are refused). */
const origin = z.string().max(2048).transform((value, ctx) => {
  if (value === '*') return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) origin such as https://example.com, or "*"' });
    return z.NEVER;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) origin without a path, such as https://example.com' });
    return z.NEVER;
  }
  return url.origin;
});

export const corsBody = z.object({ allowed_origins: z.array(origin).min(1).max(100) }).strict();
export const jwtBody = z.object({
  accessTokenTtl: z.string().regex(/^\d+[smhd]$/, 'must be a number followed by s, m, h or d, e.g. "15m"').optional(),
  refreshTokenTtlDays: z.number().int().positive().max(365).optional(),
}).strict().refine((b) => b.accessTokenTtl !== undefined || b.refreshTokenTtlDays !== undefined, 'give accessTokenTtl and/or refreshTokenTtlDays');
/** Plan cap for an app's storage quota: 10 GiB. */
export const storageLimitCapBytes = 10 * 1024 ** 3;
/** An allowed upload type: `type/subtype`, `type/*` or `*∕*`, stored lowercase without parameters. */
const allowedContentType = z.string().max(255).transform((value) => value.trim().toLowerCase())
  .pipe(z.string().regex(/^(\*\/\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}))$/, 'must be a MIME type such as "image/png", a wildcard such as "image/*", or "*/*"'));
export const storageBody = z.object({
  publicReadEnabled: z.boolean().optional(),
  storageLimitBytes: z.number().int().positive().max(storageLimitCapBytes, `at most ${storageLimitCapBytes} bytes on this plan`).optional(),
  maxFileSizeMb: z.number().int().positive().max(5120).optional(),
  allowedContentTypes: z.array(allowedContentType).min(1, 'give at least one type ("*/*" allows any)').max(100).optional(),
}).strict().refine((b) => Object.keys(b).length > 0, 'give at least one of publicReadEnabled, storageLimitBytes, maxFileSizeMb, allowedContentTypes');
export const pauseBody = z.object({ paused: z.boolean(), reason: z.string().max(500).optional() }).strict();
export const accessModeBody = z.object({ access_mode: z.enum(['public', 'authenticated']) }).strict();
export const envBody = z.object({
  envVars: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'env var names are letters, digits and "_"').refine((k) => !/^BUTTERBASE_/i.test(k), 'names starting with BUTTERBASE_ are reserved for the platform'),
    z.string().max(32_768).nullable(),
  ).refine((v) => Object.keys(v).length > 0, 'give at least one variable'),
}).strict();

async function update(env: Env, appId: string, setSql: string, params: unknown[]): Promise<AppRow> {
  const rows = (await controlSql(env).query(
    `UPDATE apps SET ${setSql}, updated_at = now() WHERE id = $1 RETURNING *`,
    [appId, ...params],
  )) as unknown as AppRow[];
  invalidateAppGate(appId);
  // The app can be deleted between the ownership check and this update.
  if (!rows[0]) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return rows[0];
}

/** PATCH config/cors: replaces `allowed_origins` (duplicates dropped). Out: `{ message, app_id, allowed_origins }`. */
export async function updateCors(env: Env, app: AppRow, body: z.infer<typeof corsBody>) {
  const row = await update(env, app.id, 'allowed_origins = $2', [[...new Set(body.allowed_origins)]]);
  return { message: 'CORS origins updated', app_id: row.id, allowed_origins: row.allowed_origins };
}

/** PATCH config/jwt: merges into `jwt_config`; tokens already issued keep their TTL. Out: `{ message, app_id, jwt_config }`. */
export async function updateJwt(env: Env, app: AppRow, body: z.infer<typeof jwtBody>) {
  const row = await update(env, app.id, 'jwt_config = jwt_config || $2::jsonb', [JSON.stringify(body)]);
  return { message: 'JWT settings updated; they apply to tokens issued from now on', app_id: row.id, jwt_config: row.jwt_config };
}

/** PATCH config/storage: merges into `storage_config`. Out: `{ message, app_id, storage_config }`. */
export async function updateStorage(env: Env, app: AppRow, body: z.infer<typeof storageBody>) {
  const row = await update(env, app.id, 'storage_config = storage_config || $2::jsonb', [JSON.stringify(body)]);
  return { message: 'Storage settings updated', app_id: row.id, storage_config: row.storage_config };
}

/** PATCH config/pause: pauses (keeping the first `paused_at`) or resumes. Out: `{ message, app_id, paused, paused_at, paused_reason }`. */
export async function updatePause(env: Env, app: AppRow, body: z.infer<typeof pauseBody>) {
  const row = body.paused
    ? await update(env, app.id, 'paused = true, paused_at = COALESCE(paused_at, now()), paused_reason = $2', [body.reason ?? null])
    : await update(env, app.id, 'paused = false, paused_at = NULL, paused_reason = NULL', []);
  return {
    message: row.paused ? 'App paused: data plane requests now get 503 APP_PAUSED' : 'App resumed',
    app_id: row.id,
    paused: row.paused,
    paused_at: row.paused_at,
    paused_reason: row.paused_reason,
  };
}

/** PATCH config/access-mode. Out: `{ message, app_id, access_mode }`. */
export async function updateAccessMode(env: Env, app: AppRow, body: z.infer<typeof accessModeBody>) {
  const row = await update(env, app.id, 'access_mode = $2', [body.access_mode]);
  return { message: `Access mode set to ${row.access_mode}`, app_id: row.id, access_mode: row.access_mode };
}

/** GET /v1/{app}/env: the names only; values are never returned. */
export function envKeys(app: AppRow) {
  return { keys: Object.keys(app.env_vars).sort(), updatedAt: app.env_updated_at };
}

/** PATCH /v1/{app}/env: merges (null deletes); values are sealed with AES-GCM before they are stored. */
export async function updateEnv(env: Env, app: AppRow, body: z.infer<typeof envBody>) {
  const sealed: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(body.envVars)) {
    sealed[key] = value === null ? null : await encryptSecret(value, env.PLATFORM_MASTER_KEY);
  }
  const removed = Object.keys(sealed).filter((k) => sealed[k] === null);
  const added = Object.fromEntries(Object.entries(sealed).filter(([, v]) => v !== null));
  await update(env, app.id, 'env_vars = (env_vars - $2::text[]) || $3::jsonb, env_updated_at = now()', [removed, JSON.stringify(added)]);
  return { updatedKeys: Object.keys(body.envVars).sort(), invalidated: { functions: [] as string[], count: 0 } };
}
