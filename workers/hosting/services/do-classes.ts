/**
 * User Durable Object class records (control-plane `durable_object_classes`, `durable_object_env`)
 * and their wire shape (API.md §10.1). Host objects are named by (app, name, instance), so storage
 * survives redeploys; delete purges each instance explicitly. The row id and version name the code
 * (the Worker Loader id), so a redeploy or an env change loads fresh code.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { controlDb } from '../../shared/control-db.ts';
import { durableObjectClasses, durableObjectEnv } from '../../shared/control-schema.ts';
import { decryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';

export type ClassRow = typeof durableObjectClasses.$inferSelect;

/** Classes per app (API.md §10.1) and all compiled modules together, gzip bytes. */
export const maxClassesPerApp = 5;
export const maxBundleBytes = 10 * 1024 * 1024;

/** The list item of GET /v1/{app}/durable-objects (API.md §10.1). */
export function classWire(row: ClassRow) {
  return {
    id: row.id,
    name: row.name,
    class_name: row.class_name,
    status: row.status,
    access_mode: row.access_mode,
    last_deployed_at: row.last_deployed_at?.toISOString() ?? null,
    error_message: row.error_message,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The app's classes, by name. */
export async function listClasses(env: Env, appId: string): Promise<ClassRow[]> {
  return controlDb(env).select().from(durableObjectClasses).where(eq(durableObjectClasses.app_id, appId)).orderBy(asc(durableObjectClasses.name));
}

/** One class by URL name, or null. */
export async function findClass(env: Env, appId: string, name: string): Promise<ClassRow | null> {
  const [row] = await controlDb(env).select().from(durableObjectClasses)
    .where(and(eq(durableObjectClasses.app_id, appId), eq(durableObjectClasses.name, name)));
  return row ?? null;
}

/** One class by URL name. @throws ApiError RESOURCE_NOT_FOUND */
export async function getClass(env: Env, appId: string, name: string): Promise<ClassRow> {
  const row = await findClass(env, appId, name);
  if (!row) throw new ApiError('RESOURCE_NOT_FOUND', `Durable Object "${name}" not found.`, { remediation: 'List the classes (GET /v1/{app_id}/durable-objects) or deploy it first.' });
  return row;
}

/** A class row by id (the host objects load their code with it). */
export async function classById(env: Env, id: string): Promise<ClassRow | null> {
  const [row] = await controlDb(env).select().from(durableObjectClasses).where(eq(durableObjectClasses.id, id));
  return row ?? null;
}

/** The app's DO env vars, decrypted (they go into the user's module env). */
export async function envValues(env: Env, appId: string): Promise<Record<string, string>> {
  const rows = await controlDb(env).select({ key: durableObjectEnv.key, value: durableObjectEnv.value }).from(durableObjectEnv).where(eq(durableObjectEnv.app_id, appId));
  const out: Record<string, string> = {};
  for (const row of rows) out[row.key] = await decryptSecret(row.value, env.PLATFORM_MASTER_KEY);
  return out;
}

/** Bumps every class of the app to a new version (env changed: all of them load fresh code). Out: how many. */
export async function redeployAll(env: Env, appId: string): Promise<number> {
  const rows = await controlDb(env).update(durableObjectClasses)
    .set({
      version: sql`${durableObjectClasses.version} + 1`,
      live_version: sql`${durableObjectClasses.live_version} + 1`,
      last_deployed_at: new Date(), updated_at: new Date(),
    })
    .where(eq(durableObjectClasses.app_id, appId)).returning({ id: durableObjectClasses.id });
  return rows.length;
}

/**
 * The Worker Loader id of a class's code: `live` = the serving module (`live_compiled` at
 * `live_version`), `probe` = the module a deploy is checking (`compiled` at `version`). New code or
 * env → a new id → a fresh isolate; the two kinds never share an id, so a failed probe's module can
 * never be served.
 */
export function loaderKey(row: { app_id: string; id: string }, kind: 'live' | 'probe', version: number): string {
  return `do:${row.app_id}:${row.id}:${kind}${version}`;
}
