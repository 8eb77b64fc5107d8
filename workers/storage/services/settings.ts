/**
 * What the storage Worker reads from and writes to the control-plane database (drizzle over
 * workers/shared/control-db.ts, whose error boundary maps every failure to §1.4): an app's
 * `storage_config` (API.md §2 PATCH config/storage) and the reaper's due list (`storage_reap_due`).
 */
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import { controlDb } from '../../shared/control-db.ts';
import { apps, storageConfig, storageReapDue, type StorageConfig } from '../../shared/control-schema.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';

export { controlDb };

/** An app's storage limits as the upload routes apply them. */
export interface StorageSettings {
  config: StorageConfig;
  /** The app's quota in bytes (`storageLimitBytes`, else the platform default of 1 GiB). */
  limitBytes: number;
  /** Largest single file in bytes (`maxFileSizeMb` × 2^20). */
  maxFileBytes: number;
}

/**
 * Reads an app's storage settings.
 * @throws ApiError APP_NOT_FOUND when the app row is gone; EXTERNAL_DB_ERROR when the control
 *   database cannot be reached; QUOTA_STORAGE_ERROR when the stored config is malformed
 */
export async function loadStorageSettings(env: Env, appId: string): Promise<StorageSettings> {
  const [row] = await controlDb(env).select({ storage_config: apps.storage_config }).from(apps).where(eq(apps.id, appId));
  if (!row) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  const parsed = storageConfig.safeParse(row.storage_config ?? {});
  if (!parsed.success) {
    throw new ApiError('QUOTA_STORAGE_ERROR', 'The app\'s storage settings could not be read.', { internal: parsed.error.message });
  }
  return {
    config: parsed.data,
    limitBytes: parsed.data.storageLimitBytes ?? Number(env.DEFAULT_STORAGE_LIMIT_BYTES ?? 1024 ** 3),
    maxFileBytes: parsed.data.maxFileSizeMb * 1024 * 1024,
  };
}

/**
 * Tells the reaper to visit `appId` by `dueAt` (an earlier due time already recorded is kept). Called
 * after a reservation is stored: if the reaper cleared the app's row in between, this records it again.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database cannot be reached
 */
export async function markReapDue(env: Env, appId: string, dueAt: Date): Promise<void> {
  await controlDb(env).insert(storageReapDue).values({ app_id: appId, due_at: dueAt }).onConflictDoUpdate({
    target: storageReapDue.app_id,
    set: { due_at: sql`LEAST(${storageReapDue.due_at}, excluded.due_at)`, marks: sql`${storageReapDue.marks} + 1` },
  });
}

/** An app the reaper should visit, and how many reservations had been recorded when it looked. */
export interface DueApp {
  appId: string;
  marks: number;
}

/** Apps whose reservations may have expired by `nowMs`, earliest first (at most `limit`). */
export async function dueApps(env: Env, nowMs: number, limit: number): Promise<DueApp[]> {
  const rows = await controlDb(env).select({ appId: storageReapDue.app_id, marks: storageReapDue.marks }).from(storageReapDue)
    .where(lte(storageReapDue.due_at, new Date(nowMs))).orderBy(asc(storageReapDue.due_at)).limit(limit);
  return rows;
}

/**
 * Records when an app next needs the reaper (`nextDueMs`), or that it does not (null) — unless a
 * reservation was recorded since the reaper looked (`seen.marks`): then the row is left as it is
 * and the next tick looks again, so a new reservation is never forgotten.
 */
export async function rescheduleApp(env: Env, seen: DueApp, nextDueMs: number | null): Promise<void> {
  const unchanged = and(eq(storageReapDue.app_id, seen.appId), eq(storageReapDue.marks, seen.marks));
  if (nextDueMs === null) await controlDb(env).delete(storageReapDue).where(unchanged);
  else await controlDb(env).update(storageReapDue).set({ due_at: new Date(nextDueMs) }).where(unchanged);
}

/** True when the app row exists (an object whose app is gone is an orphan). */
export async function appExists(env: Env, appId: string): Promise<boolean> {
  return (await controlDb(env).select({ id: apps.id }).from(apps).where(eq(apps.id, appId))).length > 0;
}
