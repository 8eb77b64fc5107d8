/**
 * What happens when bytes land or go (DESIGN.md "Storage"): the record learns size, ETag and
 * `uploaded_at`, and the upload-completed event goes out once. Fed by R2 event notifications through
 * a Queue in production (locally the S3 endpoint sends the same messages), by the multipart complete
 * route, by a download that finds the bytes before the notification, and by the reaper.
 *
 * Also the purge of a deleted app's objects (queue `butterbase-storage-purge`, sent by control).
 */
import { ApiError } from '../../shared/errors.ts';
import type { R2EventNotification, StorageUploadEvent } from '../../shared/contracts.ts';
import type { Env } from '../env.ts';
import { appOfKey } from './names.ts';
import { completeObject, deleteUploadedByKey, findByKey, type ObjectRecord } from './records.ts';
import { appExists } from './settings.ts';

/** The event for a record that just completed. */
export function uploadEvent(appId: string, record: ObjectRecord): StorageUploadEvent {
  return {
    type: 'storage.upload_completed',
    app_id: appId,
    object_id: record.id,
    key: record.key,
    filename: record.filename,
    content_type: record.content_type,
    size_bytes: record.size_bytes,
    user_id: record.user_id,
    etag: record.etag,
    uploaded_at: (record.uploaded_at ?? new Date()).toISOString(),
  };
}

/**
 * Records that the bytes of `key` landed (size and ETag as the store reports them). The first time,
 * sends the upload-completed event (UPLOAD_EVENTS).
 * @returns the record, or null when no record has that key
 * @throws ApiError from the app database (EXTERNAL_DB_ERROR, APP_NOT_FOUND…)
 */
export async function recordLanded(env: Env, appId: string, landed: { key: string; sizeBytes: number; etag: string | null }): Promise<ObjectRecord | null> {
  const outcome = await completeObject(env, appId, landed);
  if (!outcome) return null;
  if (outcome.firstCompletion) {
    try {
      await env.UPLOAD_EVENTS.send(uploadEvent(appId, outcome.record));
    } catch (error) {
      console.error(`[storage] upload event for ${outcome.record.id} not sent: ${String(error)}`);
    }
  }
  return outcome.record;
}

const createActions = new Set<R2EventNotification['action']>(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);

/**
 * Handles one R2 event notification. Keys that are not the storage API's (`app_…/…/uuid_name`) are
 * ignored. A created object completes its record; one without a record — its reservation was reaped
 * or deleted, or its app is gone — is deleted, so nothing outside the quota stays in the bucket. A
 * deleted object removes its record unless the object exists again.
 * @returns what was done, for logs
 * @throws ApiError on database failures (the message is retried)
 */
export async function handleNotification(env: Env, message: R2EventNotification): Promise<string> {
  if (message.bucket !== env.S3_BUCKET) return 'other bucket';
  const key = message.object.key;
  const appId = appOfKey(key);
  if (!appId) return 'not a storage key';
  if (createActions.has(message.action)) {
    let record: ObjectRecord | null;
    try {
      const head = message.object.size ? null : await env.FILES.head(key);
      if (!message.object.size && !head?.size) return 'object gone or empty';
      record = await recordLanded(env, appId, {
        key, sizeBytes: message.object.size || head!.size, etag: message.object.eTag ?? head?.etag ?? null,
      });
    } catch (error) {
      if (await appExists(env, appId)) throw error;
      record = null;
    }
    if (record) return 'completed';
    await env.FILES.delete(key);
    return 'orphan deleted';
  }
  if (await env.FILES.head(key)) return 'object exists again';
  try {
    const record = await findByKey(env, appId, key);
    if (!record?.uploaded_at) return 'no uploaded record';
    await deleteUploadedByKey(env, appId, key);
    return 'record deleted';
  } catch (error) {
    if (error instanceof ApiError && !(await appExists(env, appId))) return 'app gone';
    throw error;
  }
}

/** Deletes at most this many pages of 1000 objects per purge message, then continues in a new message. */
const purgePagesPerMessage = 5;

/**
 * Deletes a deleted app's objects (every key under `{app_id}/`). A large app continues in a new
 * message (STORAGE_PURGE), so each invocation stays within its subrequest budget.
 * @returns how many objects were deleted now and whether more remain
 */
export async function purgeApp(env: Env, appId: string): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0;
  for (let page = 0; page < purgePagesPerMessage; page++) {
    const listed = await env.FILES.list({ prefix: `${appId}/`, limit: 1000 });
    if (listed.objects.length === 0) return { deleted, more: false };
    await env.FILES.delete(listed.objects.map((object) => object.key));
    deleted += listed.objects.length;
    if (!listed.truncated) return { deleted, more: false };
  }
  await env.STORAGE_PURGE.send({ type: 'app_deleted', appId });
  return { deleted, more: true };
}
