/**
 * What the storage Worker reads from and writes to the control-plane database: an app's
 * `storage_config` (API.md §2 PATCH config/storage) and the reaper's due list
 * (`storage_reap_due`, migrations/control/0004_storage.sql), both with parameters only.
 */
import { ApiError } from '../../shared/errors.ts';
import { sqlClient, type Sql } from '../../shared/db.ts';
import { storageConfig, type StorageConfig } from '../../shared/schemas/storage.ts';
import type { Env } from '../env.ts';

/** An app's storage limits as the upload routes apply them. */
export interface StorageSettings {
  config: StorageConfig;
  /** The app's quota in bytes (`storageLimitBytes`, else the platform default of 1 GiB). */
  limitBytes: number;
  /** Largest single file in bytes (`maxFileSizeMb` × 2^20). */
  maxFileBytes: number;
}

/** The control-plane database. */
export function controlSql(env: Pick<Env, 'CONTROL_DATABASE_URL' | 'NEON_FETCH_ENDPOINT'>): Sql {
  return sqlClient(env.CONTROL_DATABASE_URL, env);
}

function settingsOf(env: Env, raw: unknown): StorageSettings {
  const config = storageConfig.parse(raw ?? {});
  return {
    config,
    limitBytes: config.storageLimitBytes ?? Number(env.DEFAULT_STORAGE_LIMIT_BYTES ?? 1024 ** 3),
    maxFileBytes: config.maxFileSizeMb * 1024 * 1024,
  };
}

/**
 * Reads an app's storage settings.
 * @throws ApiError APP_NOT_FOUND when the app row is gone; EXTERNAL_DB_ERROR when the control
 *   database cannot be reached; QUOTA_STORAGE_ERROR when the stored config is malformed.
 */
export async function loadStorageSettings(env: Env, appId: string): Promise<StorageSettings> {
  const rows = await queryControl(env, 'SELECT storage_config FROM apps WHERE id = $1', [appId]);
  if (!rows[0]) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return parseSettings(env, rows[0].storage_config);
}

/**
 * Tells the reaper to visit `appId` by `dueAt` (an earlier due time already recorded is kept). Called
 * after a reservation is stored: if the reaper cleared the app's row in between, this records it again.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database cannot be reached
 */
export async function markReapDue(env: Env, appId: string, dueAt: Date): Promise<void> {
  await queryControl(env,
    `INSERT INTO storage_reap_due (app_id, due_at) SELECT id, $2 FROM apps WHERE id = $1
     ON CONFLICT (app_id) DO UPDATE SET due_at = LEAST(storage_reap_due.due_at, EXCLUDED.due_at), marks = storage_reap_due.marks + 1`,
    [appId, dueAt.toISOString()]);
}

function parseSettings(env: Env, raw: unknown): StorageSettings {
  try {
    return settingsOf(env, raw);
  } catch (error) {
    throw new ApiError('QUOTA_STORAGE_ERROR', 'The app\'s storage settings could not be read.', { internal: String(error) });
  }
}

/** An app the reaper should visit, and how many reservations had been recorded when it looked. */
export interface DueApp {
  appId: string;
  marks: number;
}

/** Apps whose reservations may have expired by `nowMs`, earliest first (at most `limit`). */
export async function dueApps(env: Env, nowMs: number, limit: number): Promise<DueApp[]> {
  const rows = await queryControl(env, 'SELECT app_id, marks::float8 AS marks FROM storage_reap_due WHERE due_at <= $1 ORDER BY due_at LIMIT $2',
    [new Date(nowMs).toISOString(), limit]);
  return rows.map((row) => ({ appId: String(row.app_id), marks: Number(row.marks) }));
}

/**
 * Records when an app next needs the reaper (`nextDueMs`), or that it does not (null) — unless a
 * reservation was recorded since the reaper looked (`seen.marks`): then the row is left as it is
 * and the next tick looks again, so a new reservation is never forgotten.
 */
export async function rescheduleApp(env: Env, seen: DueApp, nextDueMs: number | null): Promise<void> {
  if (nextDueMs === null) {
    await queryControl(env, 'DELETE FROM storage_reap_due WHERE app_id = $1 AND marks = $2', [seen.appId, seen.marks]);
  } else {
    await queryControl(env, 'UPDATE storage_reap_due SET due_at = $3 WHERE app_id = $1 AND marks = $2',
      [seen.appId, seen.marks, new Date(nextDueMs).toISOString()]);
  }
}

/** True when the app row exists (an object whose app is gone is an orphan). */
export async function appExists(env: Env, appId: string): Promise<boolean> {
  return (await queryControl(env, 'SELECT 1 FROM apps WHERE id = $1', [appId])).length > 0;
}

async function queryControl(env: Env, query: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  try {
    return (await controlSql(env).query(query, params)) as Record<string, unknown>[];
  } catch (error) {
    throw new ApiError('EXTERNAL_DB_ERROR', 'The platform database could not be reached.', {
      internal: String(error), headers: { 'retry-after': '5' },
    });
  }
}
