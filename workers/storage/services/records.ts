/**
 * Object records in the app's database (`storage.objects`, migrations/app/0004_storage.sql), read
 * and written through DbGateway as role `service` — the storage Worker applies the object ACL itself
 * (services/access.ts) and never holds an owner connection.
 */
import { z } from 'zod';
import type { SqlResult, SqlStatement } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import type { Env } from '../env.ts';

/** One `storage.objects` row as read back. */
export const objectRecord = z.object({
  id: z.string(),
  user_id: z.string().nullable(),
  key: z.string(),
  filename: z.string(),
  content_type: z.string(),
  size_bytes: z.coerce.number(),
  public: z.boolean(),
  etag: z.string().nullable(),
  upload_id: z.string().nullable(),
  part_size_bytes: z.coerce.number().nullable(),
  reserved_until: z.coerce.date().nullable(),
  uploaded_at: z.coerce.date().nullable(),
  created_at: z.coerce.date(),
});
export type ObjectRecord = z.infer<typeof objectRecord>;

const columns = 'id, user_id, key, filename, content_type, size_bytes, public, etag, upload_id, part_size_bytes, reserved_until, uploaded_at, created_at';

/** Serialises quota checks of one app database (any constant: the lock is per database). */
const quotaLockKey = 4_206_008;

/** Counted toward the quota: uploaded objects, and reservations whose time has not run out. */
const countedWhere = 'uploaded_at IS NOT NULL OR reserved_until > now()';

/**
 * Runs one batch (one transaction) on the app database as role service.
 * @throws ApiError as DbGateway maps it (APP_NOT_FOUND, EXTERNAL_DB_ERROR, VALIDATION_*…)
 */
async function run(env: Env, appId: string, statements: SqlStatement[], readOnly = false): Promise<SqlResult[]> {
  const session = env.DB_GATEWAY.session({ appId, role: 'service', userId: null });
  return unwrap(await session.execute(statements, { readOnly }));
}

function records(result: SqlResult | undefined): ObjectRecord[] {
  return (result?.rows ?? []).map((row) => objectRecord.parse(row));
}

/** A reservation to make (see {@link reserveObject}). */
export interface Reservation {
  id: string;
  userId: string | null;
  key: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  public: boolean;
  /** The open multipart upload, for resumable uploads. */
  uploadId?: string;
  partSizeBytes?: number;
  /** How long the reservation counts toward the quota, seconds. */
  reserveSeconds: number;
  /** The app's quota, bytes. */
  limitBytes: number;
}

/** What a reservation attempt found: whether it fit, and the app's usage before it. */
export interface ReservationOutcome {
  reserved: boolean;
  usedBytesBefore: number;
  filesBefore: number;
}

/**
 * Creates the record of an upload if its declared size fits the app's quota. The quota is summed
 * and the row inserted in one statement, after a per-database advisory lock taken in the same
 * transaction, so parallel reservations are checked one after another and can never overshoot.
 * @throws ApiError AUTH_RLS_REQUIRES_USER_JWT when the end user no longer exists (user_id foreign key);
 *   others as DbGateway maps them
 */
export async function reserveObject(env: Env, appId: string, r: Reservation): Promise<ReservationOutcome> {
  let results: SqlResult[];
  try {
    results = await run(env, appId, [
      { query: 'SELECT pg_advisory_xact_lock($1)', params: [quotaLockKey] },
      {
        query: `WITH usage AS (
                  SELECT COALESCE(SUM(size_bytes), 0)::float8 AS used_bytes, COUNT(*)::int AS files
                    FROM storage.objects WHERE ${countedWhere}
                ), reserved AS (
                  INSERT INTO storage.objects (id, user_id, key, filename, content_type, size_bytes, public, upload_id, part_size_bytes, reserved_until)
                  SELECT $1, $2::uuid, $3, $4, $5, $6::bigint, $7, $8, $9::bigint, now() + make_interval(secs => $10::float8)
                    FROM usage WHERE usage.used_bytes + $6::float8 <= $11::float8
                  RETURNING id)
                SELECT used_bytes, files, (SELECT count(*) FROM reserved)::int AS reserved FROM usage`,
        params: [r.id, r.userId, r.key, r.filename, r.contentType, r.sizeBytes, r.public, r.uploadId ?? null, r.partSizeBytes ?? null, r.reserveSeconds, r.limitBytes],
      },
    ]);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'VALIDATION_FOREIGN_KEY_VIOLATION') {
      throw new ApiError('AUTH_RLS_REQUIRES_USER_JWT', 'Storage operations require a signed-in end user of this app; the token\'s user no longer exists.', {
        remediation: 'Sign the user in again (POST /auth/{app_id}/login) and retry with the new access token, or upload with the service key.',
      });
    }
    throw error;
  }
  const row = results[1]?.rows[0] ?? {};
  return { reserved: Number(row.reserved) === 1, usedBytesBefore: Number(row.used_bytes ?? 0), filesBefore: Number(row.files ?? 0) };
}

/** The app's counted usage: bytes and files (uploaded objects and live reservations). */
export async function usageOf(env: Env, appId: string): Promise<{ usedBytes: number; files: number }> {
  const [result] = await run(env, appId, [{
    query: `SELECT COALESCE(SUM(size_bytes), 0)::float8 AS used_bytes, COUNT(*)::int AS files FROM storage.objects WHERE ${countedWhere}`,
  }], true);
  const row = result?.rows[0] ?? {};
  return { usedBytes: Number(row.used_bytes ?? 0), files: Number(row.files ?? 0) };
}

/** The record `objectId`, or null. */
export async function findObject(env: Env, appId: string, objectId: string): Promise<ObjectRecord | null> {
  const [result] = await run(env, appId, [{ query: `SELECT ${columns} FROM storage.objects WHERE id = $1`, params: [objectId] }], true);
  return records(result)[0] ?? null;
}

/** The record of `key`, or null. */
export async function findByKey(env: Env, appId: string, key: string): Promise<ObjectRecord | null> {
  const [result] = await run(env, appId, [{ query: `SELECT ${columns} FROM storage.objects WHERE key = $1`, params: [key] }], true);
  return records(result)[0] ?? null;
}

/** The newest 100 records, all of them (`userId` undefined) or one end user's. */
export async function listObjects(env: Env, appId: string, userId: string | undefined): Promise<ObjectRecord[]> {
  const [result] = await run(env, appId, [userId === undefined
    ? { query: `SELECT ${columns} FROM storage.objects ORDER BY created_at DESC, id DESC LIMIT 100` }
    : { query: `SELECT ${columns} FROM storage.objects WHERE user_id = $1::uuid ORDER BY created_at DESC, id DESC LIMIT 100`, params: [userId] }], true);
  return records(result);
}

/**
 * Marks the record of `key` uploaded with what the store reports (size, ETag); the reservation ends.
 * @returns the record and whether this call completed it (false when it was already uploaded), or
 *   null when no record has that key
 */
export async function completeObject(env: Env, appId: string, landed: { key: string; sizeBytes: number; etag: string | null }): Promise<{ record: ObjectRecord; firstCompletion: boolean } | null> {
  const [result] = await run(env, appId, [{
    query: `WITH before AS (SELECT id, uploaded_at IS NULL AS was_pending FROM storage.objects WHERE key = $1 FOR UPDATE)
            UPDATE storage.objects o
               SET size_bytes = $2::bigint, etag = $3, uploaded_at = COALESCE(o.uploaded_at, now()), reserved_until = NULL, upload_id = NULL
              FROM before WHERE o.id = before.id
            RETURNING ${columns.split(', ').map((c) => `o.${c}`).join(', ')}, before.was_pending`,
    params: [landed.key, landed.sizeBytes, landed.etag],
  }]);
  const row = result?.rows[0];
  if (!row) return null;
  return { record: objectRecord.parse(row), firstCompletion: row.was_pending === true };
}

/** Deletes the record `objectId`. @returns the deleted record, or null when it was already gone. */
export async function deleteObjectRecord(env: Env, appId: string, objectId: string): Promise<ObjectRecord | null> {
  const [result] = await run(env, appId, [{ query: `DELETE FROM storage.objects WHERE id = $1 RETURNING ${columns}`, params: [objectId] }]);
  return records(result)[0] ?? null;
}

/** Deletes the record of `key` unless it is still a reservation (its upload may yet land). */
export async function deleteUploadedByKey(env: Env, appId: string, key: string): Promise<ObjectRecord | null> {
  const [result] = await run(env, appId, [{ query: `DELETE FROM storage.objects WHERE key = $1 AND uploaded_at IS NOT NULL RETURNING ${columns}`, params: [key] }]);
  return records(result)[0] ?? null;
}

/** Keeps a pending reservation counting for `seconds` from now (fresh part URLs were handed out). */
export async function extendReservation(env: Env, appId: string, objectId: string, seconds: number): Promise<void> {
  await run(env, appId, [{
    query: 'UPDATE storage.objects SET reserved_until = GREATEST(reserved_until, now() + make_interval(secs => $2::float8)) WHERE id = $1 AND uploaded_at IS NULL',
    params: [objectId, seconds],
  }]);
}

/** Reservations that ran out by `nowMs` without receiving bytes, oldest first (at most `limit`). */
export async function expiredReservations(env: Env, appId: string, nowMs: number, limit: number): Promise<ObjectRecord[]> {
  const [result] = await run(env, appId, [{
    query: `SELECT ${columns} FROM storage.objects WHERE uploaded_at IS NULL AND reserved_until <= $1::timestamptz ORDER BY reserved_until LIMIT $2`,
    params: [new Date(nowMs).toISOString(), limit],
  }], true);
  return records(result);
}

/** Deletes a reservation if it is still one. @returns true when it was deleted. */
export async function dropReservation(env: Env, appId: string, objectId: string): Promise<boolean> {
  const [result] = await run(env, appId, [{ query: 'DELETE FROM storage.objects WHERE id = $1 AND uploaded_at IS NULL RETURNING id', params: [objectId] }]);
  return (result?.rows.length ?? 0) > 0;
}

/** When the earliest remaining reservation runs out (ms since the epoch), or null when none is left. */
export async function nextReservationEnd(env: Env, appId: string): Promise<number | null> {
  const [result] = await run(env, appId, [{ query: 'SELECT min(reserved_until) AS next FROM storage.objects WHERE uploaded_at IS NULL' }], true);
  const next = result?.rows[0]?.next;
  return next === null || next === undefined ? null : new Date(next as string | Date).getTime();
}
